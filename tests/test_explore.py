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


def test_explorer_clicks_in_a_kernel(tmp_path):
    out = tmp_path / 'run'
    made = subprocess.run([SSLMEM, 'run', '--out', str(out), '--limit', '200', '--epochs', '2', '--n-views', '3',
                           '--width', '8', '--no-progress'], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert made.returncode == 0, made.stderr
    printed = run_in_kernel(f"""
import sys
from sslmem.explore import Explorer
from sslmem.cli import read_run
scores, _ = read_run({str(out)!r})
e = Explorer({str(out)!r}, page_size=6)
print('kernel', sys.executable)
print('cells', len(e.grid.children))
e.order.value = 'least memorized'
e.grid.children[0].children[1].click()
print('selected', e.selected, int(scores[scores.subset == 'candidate'].sort_values('mem').iloc[0]['index']))
print('outputs', len(e.detail.outputs), e.detail.outputs[0]['output_type'], 'image/png' in e.detail.outputs[0]['data'])
""")
    lines = dict(line.split(' ', 1) for line in printed.strip().splitlines())
    assert lines['cells'] == '6'
    chosen, expected = lines['selected'].split()
    assert chosen == expected  # the click selected the least memorized candidate
    assert lines['outputs'] == '1 display_data True'  # the detail pane holds the picture
