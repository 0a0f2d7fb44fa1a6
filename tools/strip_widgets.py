"""Remove live-widget outputs from the notebooks in nbs/ (run after nbdev-clean: `make clean-nbs`).

A widget output only names a model in the kernel that drew it: without that kernel it renders as nothing
in the docs and as an error in JupyterLab, so committed notebooks keep none.
"""
import json
import sys
from pathlib import Path

WIDGET = 'application/vnd.jupyter.widget-view+json'


def strip(path: Path) -> bool:
    "Drop the widget outputs of the notebook at `path`; True when it changed."
    nb = json.loads(path.read_text())
    changed = False
    for cell in nb['cells']:
        kept = [o for o in cell.get('outputs', []) if WIDGET not in o.get('data', {})]
        if len(kept) != len(cell.get('outputs', [])): cell['outputs'], changed = kept, True
    if changed: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    return changed


if __name__ == '__main__':
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / 'nbs'
    for p in sorted(root.glob('*.ipynb')):
        if strip(p): print(f'removed widget outputs from {p.name}')
