"""report.html in a real browser: headless Chromium (Debian's package) loads every plot, and a screenshot shows the page."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SSLMEM = str(Path(sys.executable).parent / 'sslmem')
CHROMIUM = next((shutil.which(n) for n in ('chromium', 'chromium-browser', 'google-chrome') if shutil.which(n)), None)
# headless, offline: no background networking, a fresh profile, no sandbox (tests may run as root)
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--virtual-time-budget=5000']


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    if CHROMIUM is None:
        if os.environ.get('CI'): pytest.fail('chromium is not installed; .ci/run installs Debian\'s chromium package')
        pytest.skip('needs Chromium (Debian: apt-get install chromium)')
    out = tmp_path_factory.mktemp('report') / 'run'
    made = subprocess.run([SSLMEM, 'run', '--out', str(out), '--limit', '200', '--epochs', '2', '--n-views', '2', '--width', '8',
                           '--no-progress'], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert made.returncode == 0, made.stderr
    return out


def chromium(*args, profile):
    return subprocess.run([CHROMIUM, *FLAGS, f'--user-data-dir={profile}', *args], capture_output=True, text=True, timeout=120)


def loaded_images(report_path, profile):
    dom = chromium('--dump-dom', report_path.as_uri(), profile=profile).stdout
    return re.findall(r'<img src="([^"]+)"[^>]*data-loaded="(yes|no)"', dom)


def test_every_plot_loads(report, tmp_path):
    images = loaded_images(report / 'report.html', tmp_path / 'profile')
    pngs = sorted(f'plots/{p.name}' for p in (report / 'plots').glob('*.png'))
    assert sorted(src for src, _ in images) == pngs and len(pngs) >= 4
    assert all(state == 'yes' for _, state in images), images


def test_a_missing_plot_is_noticed(report, tmp_path):
    copy = tmp_path / 'copy'
    shutil.copytree(report, copy)
    (copy / 'plots' / 'scores.png').unlink()
    images = dict(loaded_images(copy / 'report.html', tmp_path / 'profile'))
    assert images['plots/scores.png'] == 'no' and images['plots/alignment.png'] == 'yes'


def test_screenshot(report, tmp_path):
    from PIL import Image, ImageStat
    shot = tmp_path / 'report.png'
    chromium(f'--screenshot={shot}', '--window-size=1100,2400', (report / 'report.html').as_uri(), profile=tmp_path / 'profile')
    assert shot.exists()
    image = Image.open(shot).convert('L')
    assert image.size == (1100, 2400) and ImageStat.Stat(image).stddev[0] > 10  # a page with content, not a blank


def rendered(report_path, profile):
    return chromium('--window-size=1100,2400', '--dump-dom', report_path.as_uri(), profile=profile).stdout


def test_the_conclusion_agrees_with_the_summary(report, tmp_path):
    import json
    summary = json.loads((report / 'summary.json').read_text())
    dom = rendered(report / 'report.html', tmp_path / 'profile')
    found = dict(re.findall(r'data-hypothesis="([^"]+)" data-held="(yes|no)"', dom.replace('&gt;', '>').replace('&lt;', '<')))
    assert found == {h: 'yes' if t['p'] < 0.05 else 'no' for h, t in summary['tests'].items()}
    assert dom.count('Held: ') + dom.count('Not shown: ') == 3
    assert 'Not shown: ' in dom  # two epochs on 200 digits: the tests fail, and the page says so
    assert 'Per-image scores from one f/g pair are not yet reliable' in dom
    assert '0.0000' not in dom


def test_every_table_fits_the_page(report, tmp_path):
    boxes = re.findall(r'class="scroll" data-fits="(yes|no)"', rendered(report / 'report.html', tmp_path / 'profile'))
    assert len(boxes) >= 4 and set(boxes) == {'yes'}, boxes


def test_a_log_stays_short(tmp_path):
    "Progress written to a file (not a terminal) is a few lines, not a bar redrawn thousands of times."
    log = tmp_path / 'log'
    with open(log, 'w') as fh:
        result = subprocess.run([SSLMEM, 'run', '--out', str(tmp_path / 'out'), '--epochs', '50', '--limit', '300', '--width', '8',
                                 '--n-views', '2'], stdout=fh, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS='1'))
    text = log.read_text()
    assert result.returncode == 0, text
    assert len(text.splitlines()) < 100 and len(text.encode()) < 20_000, text
    assert 'training f: 50/50 epochs' in text and 'training g: 50/50 epochs' in text and 'report.html' in text
