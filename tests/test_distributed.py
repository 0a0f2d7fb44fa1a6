"""Several processes on one CPU (gloo): Lightning's DDP from the command line, and scoring shared between processes
that gives the scores of one process, byte for byte."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SSLMEM = str(Path(sys.executable).parent / 'sslmem')
ENV = dict(os.environ, OMP_NUM_THREADS='1')
SMALL = ['--limit', '64', '--epochs', '1', '--width', '8', '--n-views', '3', '--unit-views', '2', '--no-plots', '--no-progress']


def sslmem(*args):
    return subprocess.run([SSLMEM, *args], capture_output=True, text=True, env=ENV, timeout=900)


@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('ddp') / 'run'
    result = sslmem('run', '--out', str(out), '--accelerator', 'cpu', '--devices', '2', '--strategy', 'ddp', *SMALL)
    assert result.returncode == 0, result.stderr
    return out


def test_run_on_two_processes(ddp_run):
    summary = json.loads((ddp_run / 'summary.json').read_text())
    assert summary['scoring']['processes'] == 2
    assert set(summary['tests']) == {'S_C > S_S', 'S_I < S_S', 'S_C > S_E'}
    scores = pd.read_csv(ddp_run / 'scores.csv')
    assert len(scores) == sum(summary['sizes'].values()) and scores[['align_f', 'align_g']].gt(0).all().all()
    for name in ('f', 'g'):
        history = pd.read_csv(ddp_run / 'encoders' / name / 'history.csv')
        assert history.epoch.tolist() == [1] and (ddp_run / 'encoders' / name / 'encoder.safetensors').exists()
    assert not list(ddp_run.rglob('*.sslmem-tmp'))


def test_scores_from_two_processes_equal_one(ddp_run, tmp_path):
    one = sslmem('score', '--run', str(ddp_run), '--out', str(tmp_path / 'one'), '--accelerator', 'cpu', '--devices', '1', '--no-plots', '--no-progress')
    two = sslmem('score', '--run', str(ddp_run), '--out', str(tmp_path / 'two'), '--accelerator', 'cpu', '--devices', '2',
                 '--strategy', 'ddp', '--no-plots', '--no-progress')
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    assert json.loads((tmp_path / 'two' / 'summary.json').read_text())['scoring']['processes'] == 2
    for name in ('scores.csv', 'layermem.csv', 'unitmem.csv'):
        assert (tmp_path / 'one' / name).read_bytes() == (tmp_path / 'two' / name).read_bytes(), name


def test_pairs_side_by_side(tmp_path):
    "Two pairs trained side by side, one CPU process each, then scored by two processes: every pair in its folder."
    out = tmp_path / 'run'
    result = sslmem('run', '--out', str(out), '--pairs', '2', '--pairs-side-by-side', '--accelerator', 'cpu', '--devices', '2',
                    '--no-layers', *SMALL)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['reliability']['pairs'] == 2 and summary['config']['pairs_side_by_side'] is True
    for folder in ('f', 'g', 'pair1/f', 'pair1/g'):
        assert (out / 'encoders' / folder / 'encoder.safetensors').exists(), folder
    assert sorted(pd.read_csv(out / 'scores_by_pair.csv').pair.unique()) == [0, 1]

