"""`sslmem run` end to end, through the console script a user types."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SSLMEM = str(Path(sys.executable).parent / 'sslmem')
QUICK = ['--limit', '300', '--epochs', '2', '--n-views', '2', '--width', '8', '--no-progress']


def sslmem(*args, **kwargs):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([SSLMEM, *args], capture_output=True, text=True, env=env, **kwargs)


@pytest.fixture(scope='module')
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('run') / 'out'
    result = sslmem('run', '--out', str(out), *QUICK)
    assert result.returncode == 0, result.stderr
    return out


def test_run_writes_every_output(quick_run):
    for name in ['run.json', 'splits.json', 'scores.csv', 'summary.json', 'report.html', 'layermem.csv', 'unitmem.csv',
                 'encoders/f/encoder.safetensors', 'encoders/g/encoder.safetensors', 'encoders/f/history.csv']:
        assert (quick_run / name).exists(), name
    summary = json.loads((quick_run / 'summary.json').read_text())
    assert set(summary['tests']) == {'S_C > S_S', 'S_I < S_S', 'S_C > S_E'}
    assert summary['sizes'] == {'shared': 60, 'candidate': 30, 'independent': 30, 'extra': 30}
    plots = [p for p in (quick_run / 'plots').iterdir() if p.suffix == '.png']
    assert len(plots) >= 7 and all(p.stat().st_size > 1000 for p in plots)
    html = (quick_run / 'report.html').read_text()
    assert all(f'plots/{p.name}' in html for p in plots)


def test_same_seed_same_scores(quick_run, tmp_path):
    "A second run from scratch with the same seed gives the same scores, byte for byte, on a CPU."
    result = sslmem('run', '--out', str(tmp_path / 'again'), *QUICK)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / 'again' / 'scores.csv').read_bytes() == (quick_run / 'scores.csv').read_bytes()


def test_rerun_reuses_the_folder(quick_run):
    before = (quick_run / 'encoders' / 'f' / 'encoder.safetensors').stat().st_mtime
    result = sslmem('run', '--out', str(quick_run), *QUICK)
    assert result.returncode == 0, result.stderr
    assert (quick_run / 'encoders' / 'f' / 'encoder.safetensors').stat().st_mtime == before  # not retrained


@pytest.mark.parametrize('args, message', [
    (['run', '--epochs', 'many'], 'invalid int value'),
    (['run', '--frobnicate'], 'unrecognized arguments'),
    (['walk'], 'usage: sslmem'),
])
def test_bad_command_line(args, message):
    result = sslmem(*args)
    assert result.returncode == 2
    assert message in result.stderr and 'Traceback' not in result.stderr


def test_bad_values_exit_2_without_traceback(tmp_path, quick_run):
    cases = [(['--dataset', 'mnist'], "unknown data set 'mnist'"),
             (['--method', 'moco'], "unknown method 'moco'"),
             (['--device', 'tpu'], 'device must be auto, cpu or cuda'),
             (['--dataset', 'cifar10', '--root', str(tmp_path / 'nowhere')], 'download=True')]
    for extra, message in cases:
        result = sslmem('run', '--out', str(tmp_path / 'out'), '--no-progress', *extra)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and 'Traceback' not in result.stderr
    other = sslmem('run', '--out', str(quick_run), *QUICK[:-1], '--epochs', '3', '--no-progress')
    assert other.returncode == 2 and 'another configuration' in other.stderr


def test_unusable_output_folder_is_refused_before_training(tmp_path):
    blocker = tmp_path / 'a-file'
    blocker.write_text('not a folder')
    result = sslmem('run', '--out', str(blocker / 'out'), *QUICK)
    assert result.returncode == 2 and 'is not writable' in result.stderr
    assert 'training f and g' not in result.stderr
