"""The explorer driven in a real Jupyter kernel, as JupyterLab would run it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

SSLMEM = str(Path(sys.executable).parent / 'sslmem')


def run_in_kernel(code: str, timeout: int = 180) -> str:
    "Execute `code` in a fresh python3 kernel; return its stdout, raising on an error."
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name='python3', env=dict(os.environ, OMP_NUM_THREADS='1'))
    try:
        msg_id = kc.execute(code)
        out = []
        while True:
            msg = kc.get_iopub_msg(timeout=timeout)
            if msg['parent_header'].get('msg_id') != msg_id: continue
            kind, content = msg['msg_type'], msg['content']
            if kind == 'stream': out.append(content['text'])
            elif kind == 'error': raise AssertionError('\n'.join(content['traceback']))
            elif kind == 'status' and content['execution_state'] == 'idle': break
        return ''.join(out)
    finally:
        kc.stop_channels(); km.shutdown_kernel(now=True)


@pytest.fixture(scope='module')
def out(tmp_path_factory):
    "A small run folder written by `sslmem run`."
    out = tmp_path_factory.mktemp('explore') / 'run'
    made = subprocess.run([SSLMEM, 'run', '--out', str(out), '--limit', '200', '--epochs', '2', '--n-views', '3',
                           '--width', '8', '--no-progress'], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert made.returncode == 0, made.stderr
    return out


def test_explorer_clicks_in_a_kernel(out):
    printed = run_in_kernel(f"""
import sys
from sslmem.explore import Explorer
from sslmem.cli import read_run
scores, _ = read_run({str(out)!r})
e = Explorer({str(out)!r}, page_size=6)
print('kernel', sys.executable)
print('cells', len(e.grid.children))
e.order.value = 'least memorized'
e.grid.children[0].children[2].click()
print('selected', e.selected, int(scores[scores.subset == 'candidate'].sort_values('mem').iloc[0]['index']))
print('outputs', len(e.detail.outputs), e.detail.outputs[0]['output_type'], 'image/png' in e.detail.outputs[0]['data'])
""")
    lines = dict(line.split(' ', 1) for line in printed.strip().splitlines())
    assert lines['cells'] == '6'
    chosen, expected = lines['selected'].split()
    assert chosen == expected  # the click selected the least memorized candidate
    assert lines['outputs'] == '1 display_data True'  # the detail pane holds the picture


def drawn_texts(fig) -> list:
    "The texts a drawn figure shows: its title, and per axes its title and annotations, and its labels and ticks where its axis is on."
    fig.canvas.draw()
    texts = [fig._suptitle] if fig._suptitle else []
    for ax in fig.axes:
        texts += [ax.title, *ax.texts] + ([ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()] if ax.axison else [])
    return [t for t in texts if t.get_visible() and t.get_text().strip()]


def test_thumbnail_labels_hold_index_class_and_score(out):
    from sslmem.explore import Explorer
    e = Explorer(out, page_size=6)
    e.subset.value = 'all'
    scores = e.rows().iloc[:6]
    for cell, (_, row) in zip(e.grid.children, scores.iterrows()):
        image, label, button = cell.children
        text = label.value
        assert f"<b>#{row['index']}</b> · {e.run.class_name(int(row['label']))}<br>" in text, text  # digits: the class is the digit
        assert f"m {row['mem']:+.3f}</div>" in text, text  # three decimals, not two
        assert button.description == 'show' and str(row['index']) in button.tooltip


def test_labels_wrap_instead_of_being_cut(tmp_path):
    "A long label in a thumbnail's width, in a browser: every character is inside the box (no overflow)."
    import html
    from sslmem.explore import thumbnail_label
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'tools'))
    from browser import CHROMIUM, Browser
    if CHROMIUM is None:
        if os.environ.get('CI'): pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip('needs Chromium (Debian: apt-get install chromium)')
    page = tmp_path / 'label.html'
    page.write_text(f"<div id=box style='width:84px; overflow:hidden'>{thumbnail_label(49999, 'automobile', -0.98765)}</div>")
    with Browser() as b:
        b.open(page.as_uri())
        width, scroll, height, text = b.evaluate("(() => { const d = document.querySelector('#box > div');"
                                                 " return [d.clientWidth, d.scrollWidth, d.clientHeight, d.innerText]; })()")
    assert scroll <= width and height > 30, (width, scroll, height)  # wrapped onto lines, not cut at the edge
    assert text.split() == ['#49999', '·', 'automobile', 'm', '-0.988']


def test_detail_text_is_legible(out):
    from sslmem.explore import open_run, image_detail, detail_figure
    run = open_run(out)
    row = run.scores[run.scores.subset == 'candidate'].iloc[0]
    key = int(row['index'])
    views, per_layer = image_detail(run, key)
    fig = detail_figure(run, key, views, per_layer)
    texts = drawn_texts(fig)
    small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 11]
    assert small == []  # every text at 11 pt or more
    shown = {t.get_text() for t in texts}
    title = fig._suptitle.get_text()
    assert f"#{key}, class {row['label']}, candidate (S_C: seen by f only): m {row['mem']:+.3f}" == title
    assert {f'{v:+.4f}' for v in per_layer.mem_raw} <= shown and set(per_layer.layer) <= shown  # the score at every layer
