"""The docs: nbdev processes every notebook for quarto, and each processed page converts to HTML."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_proc_nbs_and_html(tmp_path):
    result = subprocess.run([str(BIN / 'nbdev-proc-nbs'), '--n-workers', '0'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    notebooks = sorted(p.name for p in (ROOT / 'nbs').glob('*.ipynb'))
    processed = sorted(p.name for p in (ROOT / '_proc').glob('*.ipynb'))
    assert processed == notebooks
    for name in processed:
        page = json.loads((ROOT / '_proc' / name).read_text())
        front = ''.join(page['cells'][0]['source'])
        assert page['cells'][0]['cell_type'] == 'raw' and 'title:' in front and 'description:' in front, name
        sources = [''.join(c['source']) for c in page['cells'] if c['cell_type'] == 'code']
        assert not any(s.lstrip().startswith('#| hide') for s in sources), f'{name}: hidden cells reach the docs'
    # nbdev marks cells with keys quarto ignores (has_sd) that nbformat's validator refuses: drop them for nbconvert
    standard = {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}
    copies = []
    for name in processed:
        page = json.loads((ROOT / '_proc' / name).read_text())
        page['cells'] = [{**{k: v for k, v in c.items() if k in standard}, 'metadata': {}} for c in page['cells']]
        (tmp_path / name).write_text(json.dumps(page)); copies.append(str(tmp_path / name))
    html = subprocess.run([str(BIN / 'jupyter'), 'nbconvert', '--to', 'html', *copies], capture_output=True, text=True)
    assert html.returncode == 0, html.stderr[-3000:]
    pages = {p.stem: p.read_text() for p in tmp_path.glob('*.html')}
    assert len(pages) == len(processed)
    assert '<img' in pages['01_augment'] and 'data:image/png;base64' in pages['01_augment']  # pictures reach the page
