"""Every backbone and every method from the command line, one epoch on a few images, each run checked for its outputs.

On the 8x8 grey digits: every method that applies on one backbone of each kind (small_cnn, a plain CNN; resnet18,
with batch norm; vit_tiny, a token model, the only one MAE trains), and every other backbone with SimCLR and DINO
(the method whose head adapts to batch norm). On 32x32 RGB images in a folder: every backbone (the methods' code does
not depend on the image's size or channels, the backbones' does)."""
import json
from pathlib import Path

import pandas as pd
import pytest

from sslmem.cli import main
from sslmem.models import BACKBONES
from sslmem.train import METHODS
from fixtures import write_image_folder

EVERY_METHOD = ('small_cnn', 'resnet18', 'vit_tiny')
COMBOS = [(b, m) for b in BACKBONES for m in METHODS
          if (m != 'mae' or b == 'vit_tiny') and (b in EVERY_METHOD or m in ('simclr', 'dino'))]
RGB_COMBOS = [(b, 'simclr') for b in BACKBONES] + [('vit_tiny', 'mae')]
# one step of training per encoder; plots are the same for every backbone and are checked in test_cli and test_report
TINY = ['--epochs', '1', '--n-views', '1', '--unit-views', '1', '--batch-size', '16', '--no-plots', '--no-progress']


@pytest.fixture(scope='module')
def rgb_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('rgb')
    write_image_folder(root, sizes=((32, 32),) * 10, classes=('cat', 'dog'))
    return root


def _check_outputs(out: Path, backbone: str):
    summary = json.loads((out / 'summary.json').read_text())
    assert set(summary['tests']) == {'S_C > S_S', 'S_I < S_S', 'S_C > S_E'}
    scores = pd.read_csv(out / 'scores.csv')
    assert len(scores) == sum(summary['sizes'].values()) and scores[['align_f', 'align_g', 'mem_raw']].notna().all().all()
    layers = pd.read_csv(out / 'layermem.csv')
    assert layers.layer.iloc[-1] == 'output' and layers.layer.nunique() >= 2
    units = pd.read_csv(out / 'unitmem.csv')
    assert len(units) > 0 and units.unit_mem.notna().all()
    assert (out / 'report.html').exists()


@pytest.mark.parametrize('backbone, method', COMBOS, ids=[f'{b}-{m}' for b, m in COMBOS])
def test_digits(tmp_path, backbone, method):
    size = ['--size', '16'] if backbone == 'resnet9' else []  # resnet9 halves the image four times
    assert main(['run', '--out', str(tmp_path / 'out'), '--backbone', backbone, '--method', method, '--limit', '20', *size, *TINY]) == 0
    _check_outputs(tmp_path / 'out', backbone)


@pytest.mark.parametrize('backbone, method', RGB_COMBOS, ids=[f'{b}-{m}' for b, m in RGB_COMBOS])
def test_rgb_folder(tmp_path, rgb_root, backbone, method):
    assert main(['run', '--out', str(tmp_path / 'out'), '--dataset', 'folder', '--root', str(rgb_root), '--size', '32',
                 '--backbone', backbone, '--method', method, *TINY]) == 0
    _check_outputs(tmp_path / 'out', backbone)
