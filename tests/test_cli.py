"""`sslmem run` end to end, through the console script's entry point: every option checked before any work, every
failure one line with an honest exit status, no folder locked by a failure, no user file touched. Most commands run
in the test's own process (`main`, which the script calls), so that torch and Lightning are imported once per worker;
the script itself runs where a process of its own matters: --version, signals, the umask."""
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

SSLMEM = str(Path(sys.executable).parent / 'sslmem')
QUICK = ['--limit', '300', '--epochs', '2', '--n-views', '2', '--width', '8', '--no-progress']


def sslmem(*args):
    "A command line run by the console script's entry point in this process: its exit status, stdout and stderr."
    from contextlib import redirect_stderr, redirect_stdout
    from sslmem.cli import main
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try: status = main([str(a) for a in args])
        except SystemExit as e: status = e.code if isinstance(e.code, int) else 1  # argparse's own exits
    return subprocess.CompletedProcess(list(args), status, out.getvalue(), err.getvalue())


def console(*args):
    "A command line run by the console script, in a process of its own."
    return subprocess.run([SSLMEM, *args], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))


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
    assert not (quick_run / 'failed.json').exists()


def test_outputs_follow_the_umask(tmp_path):
    "Results are shareable: files get the permissions the umask gives, as `open` would make them."
    out = tmp_path / 'shared'
    result = subprocess.run([SSLMEM, 'run', '--out', str(out), *QUICK, '--no-layers'], capture_output=True, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS='1'), preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    for name in ['report.html', 'scores.csv', 'summary.json', 'plots/scores.png', 'encoders/f/encoder.safetensors']:
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name


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
    assert 'report.html' in result.stdout  # the report's path is printed, even with --no-progress


@pytest.mark.parametrize('args, message', [
    (['run', '--epochs', 'many'], 'invalid int value'),
    (['run', '--frobnicate'], 'unrecognized arguments'),
    (['walk'], 'usage: sslmem'),
    ([], 'usage: sslmem'),
])
def test_bad_command_line(args, message, capsys):
    from sslmem.cli import main
    with pytest.raises(SystemExit) as exit_status: main(args)
    err = capsys.readouterr().err
    assert exit_status.value.code == 2 and message in err and 'Traceback' not in err


def test_help_and_version(capsys):
    from sslmem.cli import main
    import sslmem as package
    for args in (['--help'], ['run', '--help'], ['score', '--help']):
        with pytest.raises(SystemExit) as exit_status: main(args)
        assert exit_status.value.code == 0, args
    help_text = ' '.join(capsys.readouterr().out.split())
    assert '--layers, --no-layers also LayerMem' in help_text and '--progress, --no-progress show progress' in help_text
    assert '--run RUN the folder of a finished run' in help_text
    version = console('--version')  # the console script itself
    assert version.returncode == 0 and version.stdout.strip() == f'sslmem {package.__version__}', version.stderr


BAD_OPTIONS = [
    (['--epochs', '-1'], '--epochs must be at least 1, not -1'),
    (['--epochs', '0'], '--epochs must be at least 1, not 0'),
    (['--unit-views', '0'], '--unit-views must be at least 1'),
    (['--n-views', '0'], '--n-views must be at least 1'),
    (['--width', '-4'], '--width must be at least 1'),
    (['--size', '0'], '--size must be at least 1'),
    (['--crop-scale', '0'], '--crop-scale is the smallest share'),
    (['--crop-scale', '2'], 'at most 1, not 2.0'),
    (['--lr', '0'], '--lr must be a positive number, not 0.0'),
    (['--shared', '1.5'], '--shared is a fraction'),
    (['--backbone', 'resnet18', '--width', '32'], 'the resnet18 backbone has no width'),
    (['--backbone', 'resnet9'], 'the resnet9 backbone cannot take the 8x8 images of digits'),
    (['--method', 'mae'], 'mae trains a ViT'),
    (['--method', 'moco'], "unknown method 'moco'"),
    (['--dataset', 'imagenet'], "unknown data set 'imagenet'"),
    (['--accelerator', 'tpu'], 'Lightning refuses --accelerator tpu'),
    (['--strategy', 'warp'], 'Lightning refuses'),
    (['--skip-bad'], '--skip-bad applies to --dataset folder only'),
    (['--pairs', '2', '--pairs-side-by-side', '--strategy', 'ddp'], 'leave out --strategy and --num-nodes'),
    (['--pairs', '2', '--pairs-side-by-side', '--accelerator', 'cpu', '--devices', '1'], '--pairs-side-by-side needs several devices'),
    (['--estimator', 'best'], "unknown estimator 'best'"),
    (['--estimator', 'coupled', '--independent', '0.05'], '--estimator coupled swaps each candidate for an independent image'),
]


@pytest.mark.parametrize('extra, message', BAD_OPTIONS, ids=[' '.join(a) for a, _ in BAD_OPTIONS])
def test_bad_option_is_refused_before_any_work(tmp_path, capsys, extra, message):
    "One line naming the option, exit status 2, and no output folder made."
    from sslmem.cli import main
    out = tmp_path / 'out'
    assert main(['run', '--out', str(out), '--no-progress', *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_empty_out_and_missing_gpu(tmp_path, capsys):
    from sslmem.cli import main
    import torch
    assert main(['run', '--out', '', '--no-progress']) == 2 and '--out is empty' in capsys.readouterr().err
    if not torch.cuda.is_available():
        assert main(['run', '--out', str(tmp_path / 'out'), '--accelerator', 'gpu']) == 2
        assert 'Lightning refuses --accelerator gpu' in capsys.readouterr().err and not (tmp_path / 'out').exists()


def test_bad_values_exit_2_without_traceback(tmp_path, quick_run):
    cases = [(['--dataset', 'cifar10', '--root', str(tmp_path / 'nowhere')], 'download=True')]
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


def test_a_folder_of_other_files_is_refused_untouched(tmp_path):
    mine = tmp_path / 'mine'
    (mine / 'sub').mkdir(parents=True)
    (mine / 'sub' / '.notes.tmp').write_text('my notes')
    (mine / 'data.csv').write_text('1,2,3')
    before = {p: p.stat().st_mtime_ns for p in mine.rglob('*')}
    result = sslmem('run', '--out', str(mine), *QUICK)
    assert result.returncode == 2 and 'holds files that sslmem did not write' in result.stderr
    assert {p: p.stat().st_mtime_ns for p in mine.rglob('*')} == before


def test_user_files_in_a_claimed_folder_survive(quick_run):
    notes = quick_run / 'sub' / '.notes.tmp'
    notes.parent.mkdir(exist_ok=True)
    notes.write_text('my notes')
    (quick_run / '.scores.csv.k3j2.sslmem-tmp').write_text('left by a killed run')
    result = sslmem('run', '--out', str(quick_run), *QUICK)
    assert result.returncode == 0, result.stderr
    assert notes.read_text() == 'my notes' and not (quick_run / '.scores.csv.k3j2.sslmem-tmp').exists()


def test_a_diverged_run_stops_and_the_corrected_run_takes_its_folder(tmp_path):
    out = tmp_path / 'out'
    common = ['--limit', '200', '--epochs', '8', '--n-views', '2', '--width', '8', '--no-layers', '--no-progress']
    diverged = sslmem('run', '--out', str(out), *common, '--lr', '1e6')
    assert diverged.returncode == 2, diverged.stderr
    assert 'encoder f diverged' in diverged.stderr and 'learning rate' in diverged.stderr and 'Traceback' not in diverged.stderr
    assert not (out / 'scores.csv').exists() and (out / 'failed.json').exists()
    corrected = sslmem('run', '--out', str(out), *common)
    assert corrected.returncode == 0, corrected.stderr
    assert (out / 'scores.csv').exists() and not (out / 'failed.json').exists()


def test_a_failed_option_does_not_lock_the_folder(tmp_path):
    out = tmp_path / 'out'
    assert sslmem('run', '--out', str(out), *QUICK, '--backbone', 'resnet9').returncode == 2
    fixed = sslmem('run', '--out', str(out), *QUICK[:-3], '--no-layers', '--no-progress', '--backbone', 'resnet9', '--size', '16')
    assert fixed.returncode == 0, fixed.stderr


def _start(out, *extra):
    return subprocess.Popen([SSLMEM, 'run', '--out', str(out), '--limit', '300', '--epochs', '400', '--n-views', '2',
                             '--width', '8', '--no-layers', '--no-progress', *extra], env=dict(os.environ, OMP_NUM_THREADS='1'),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(process, path, timeout=300):
    deadline = time.time() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.time() < deadline, f'{path} never appeared'
        time.sleep(0.05)


@pytest.mark.parametrize('sig, status, words', [(signal.SIGTERM, 143, 'stopped by SIGTERM'), (signal.SIGINT, 130, 'interrupted')])
def test_a_signal_stops_the_run_with_an_honest_status(tmp_path, sig, status, words):
    out = tmp_path / 'out'
    process = _start(out)
    _wait_for(process, out / 'encoders' / 'f' / 'resume' / 'last.ckpt')
    process.send_signal(sig)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status, err
    assert words in err and 'run the same command again to resume' in err and 'Traceback' not in err
    assert not list(out.rglob('*.sslmem-tmp')) and not (out / 'failed.json').exists()


def test_a_damaged_resume_checkpoint_is_named(tmp_path):
    out = tmp_path / 'out'
    process = _start(out)
    last = out / 'encoders' / 'f' / 'resume' / 'last.ckpt'
    _wait_for(process, last)
    process.kill(); process.wait()
    last.write_bytes(last.read_bytes()[:1000])  # a copy cut short
    result = _start(out)
    _, err = result.communicate(timeout=300)
    assert result.returncode == 2 and str(last) in err and 'delete that file' in err and 'Traceback' not in err


def test_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    import errno
    import pandas as pd
    from sslmem.cli import main
    def full(*args, **kwargs): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(pd.DataFrame, 'to_csv', full)
    status = main(['run', '--out', str(tmp_path / 'out'), *QUICK, '--no-layers'])
    err = capsys.readouterr().err
    assert status == 1 and 'No space left on device' in err and 'Traceback' not in err, err


def test_several_pairs(tmp_path):
    "Three f/g pairs: the mean score and its spread per image, every pair's scores, and how reliable the ranking is."
    import pandas as pd
    out = tmp_path / 'pairs'
    result = sslmem('run', '--out', str(out), '--pairs', '3', '--epochs', '20', '--limit', '400', '--width', '8', '--n-views', '4',
                    '--no-layers', '--no-plots', '--no-progress')
    assert result.returncode == 0, result.stderr
    scores, by_pair = pd.read_csv(out / 'scores.csv'), pd.read_csv(out / 'scores_by_pair.csv')
    assert {'mem_raw', 'mem', 'mem_sd'} <= set(scores.columns) and scores.mem_sd.notna().all()
    assert {'pair', 'index', 'align_f', 'align_g', 'mem_raw'} <= set(by_pair.columns)
    assert sorted(by_pair.pair.unique()) == [0, 1, 2] and len(by_pair) == 3 * len(scores)
    mean = by_pair.groupby('index').mem_raw.mean()
    assert (scores.set_index('index').mem_raw - mean).abs().max() < 1e-6
    for name in ('f', 'g', 'pair1/f', 'pair1/g', 'pair2/f', 'pair2/g'):
        assert (out / 'encoders' / name / 'encoder.safetensors').exists(), name
    reliability = json.loads((out / 'summary.json').read_text())['reliability']
    assert reliability['pairs'] == 3
    for where in ('candidates', 'all'):
        assert set(reliability[where]) >= {'one_pair', 'mean_of_pairs', 'pairs_for_0.8', 'pairs_for_0.9'}
        assert -1 <= reliability[where]['one_pair'] <= 1
    assert set(reliability['pairs_showing']) == {'S_C > S_S', 'S_I < S_S', 'S_C > S_E'}
    # more pairs later: the three trained pairs are kept, two more are trained
    before = (out / 'encoders' / 'pair2' / 'f' / 'encoder.safetensors').stat().st_mtime
    more = sslmem('run', '--out', str(out), '--pairs', '5', '--epochs', '20', '--limit', '400', '--width', '8', '--n-views', '4',
                  '--no-layers', '--no-plots', '--no-progress')
    assert more.returncode == 0, more.stderr
    assert (out / 'encoders' / 'pair2' / 'f' / 'encoder.safetensors').stat().st_mtime == before
    assert json.loads((out / 'summary.json').read_text())['reliability']['pairs'] == 5


def test_estimator(tmp_path):
    "--estimator local: the estimate column is the pairs' mean local baseline, the paper's score stays; coupled pairs are a run of their own."
    import numpy as np
    import pandas as pd
    options = ['--pairs', '2', '--epochs', '2', '--limit', '200', '--width', '8', '--n-views', '2', '--no-layers', '--no-plots', '--no-progress']
    local = sslmem('run', '--out', str(tmp_path / 'local'), '--estimator', 'local', *options)
    assert local.returncode == 0, local.stderr
    scores, by_pair = pd.read_csv(tmp_path / 'local' / 'scores.csv'), pd.read_csv(tmp_path / 'local' / 'scores_by_pair.csv')
    assert (scores.estimate - by_pair.groupby('index', sort=False).mem_local.mean().loc[scores['index']].to_numpy()).abs().max() < 1e-9
    assert (scores.mem_raw - by_pair.groupby('index', sort=False).mem_raw.mean().loc[scores['index']].to_numpy()).abs().max() < 1e-6
    summary = json.loads((tmp_path / 'local' / 'summary.json').read_text())
    assert summary['estimator']['name'] == 'local' and summary['estimator']['this_run']['images'] == (scores.subset == 'candidate').sum()
    assert 'Images are ranked by the local estimator' in (tmp_path / 'local' / 'report.html').read_text()
    # the same folder cannot turn coupled: its encoders were trained otherwise
    coupled = sslmem('run', '--out', str(tmp_path / 'local'), '--estimator', 'coupled', *options)
    assert coupled.returncode == 2 and 'coupled' in coupled.stderr, coupled.stderr
    # the default stays the paper's score
    pairs = sslmem('run', '--out', str(tmp_path / 'pairs'), *options)
    assert pairs.returncode == 0, pairs.stderr
    scores = pd.read_csv(tmp_path / 'pairs' / 'scores.csv')
    assert np.allclose(scores.estimate, scores.mem_raw, rtol=1e-6, atol=0)
    # shrunk: the pairs' mean pulled towards pixel atypicality, each subset on its own line
    shrunk = sslmem('run', '--out', str(tmp_path / 'shrunk'), '--estimator', 'shrunk', *options)
    assert shrunk.returncode == 0, shrunk.stderr
    scores = pd.read_csv(tmp_path / 'shrunk' / 'scores.csv')
    assert not np.allclose(scores.estimate, scores.mem_raw) and scores.estimate.notna().all()
    assert 'In the frontier report one pair of it' in (tmp_path / 'shrunk' / 'report.html').read_text()


def test_score_again_without_training(quick_run, tmp_path):
    "A finished run scored again with more views and another seed: new scores and tests, the encoders untouched."
    import shutil
    quick_run = Path(shutil.copytree(quick_run, tmp_path / 'run'))  # the other tests keep the run as it was
    encoder = quick_run / 'encoders' / 'f' / 'encoder.safetensors'
    before, old = encoder.stat().st_mtime, (quick_run / 'scores.csv').read_bytes()
    result = sslmem('score', '--run', str(quick_run), '--n-views', '40', '--no-progress')
    assert result.returncode == 0, result.stderr
    summary = json.loads((quick_run / 'summary.json').read_text())
    assert summary['scoring'] == dict(command='score', n_views=40, seed=0, layers=True, unit_views=10, processes=1)
    assert set(summary['tests']) == {'S_C > S_S', 'S_I < S_S', 'S_C > S_E'} and summary['config']['n_views'] == 40
    assert (quick_run / 'scores.csv').read_bytes() != old and encoder.stat().st_mtime == before
    elsewhere = sslmem('score', '--run', str(quick_run), '--out', str(tmp_path / 'elsewhere'), '--seed', '7', '--no-layers', '--no-progress')
    assert elsewhere.returncode == 0, elsewhere.stderr
    other = json.loads((tmp_path / 'elsewhere' / 'summary.json').read_text())
    assert other['scoring']['seed'] == 7 and other['encoders'] == str((quick_run / 'encoders').resolve())
    for name in ('run.json', 'splits.json', 'scores.csv', 'scores_by_pair.csv', 'report.html'):
        assert (tmp_path / 'elsewhere' / name).exists(), name
    assert not (tmp_path / 'elsewhere' / 'encoders').exists()
    assert sslmem('score', '--run', str(tmp_path / 'nothing'), '--no-progress').returncode == 2
