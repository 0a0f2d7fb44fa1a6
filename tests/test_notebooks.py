"""The notebooks are the book of the library: check that each reads as a chapter and is wired into the docs."""
import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT / 'nbs').glob('*.ipynb'))
CHAPTERS = [p for p in NBS if p.name != 'index.ipynb']


def cells(path):
    return json.loads(path.read_text())['cells']


def source(cell):
    return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def code_lines(src):
    "Lines of a code cell other than nbdev directives, comments and blanks."
    return [l for l in src.splitlines() if l.strip() and not l.lstrip().startswith('#')]


@pytest.mark.parametrize('path', NBS, ids=lambda p: p.name)
def test_opens_with_title_and_summary(path):
    first = source(cells(path)[0])
    assert cells(path)[0]['cell_type'] == 'markdown' and first.startswith('# '), 'a notebook opens with its title'
    assert re.search(r'^> \S', first, re.M), 'and a one-line summary (> ...)'


@pytest.mark.parametrize('path', CHAPTERS, ids=lambda p: p.name)
def test_chapter_names_its_module(path):
    exports = [source(c) for c in cells(path) if c['cell_type'] == 'code' and '#| default_exp' in source(c)]
    assert exports, f'{path.name} names its module with #| default_exp'
    module = exports[0].split('#| default_exp')[1].split()[0]
    assert (ROOT / 'sslmem' / f"{module.replace('.', '/')}.py").exists()


@pytest.mark.parametrize('path', NBS, ids=lambda p: p.name)
def test_imports_are_not_mixed_with_other_code(path):
    # nbdev's docs processing executes every cell that imports, so such cells must do nothing else
    for c in cells(path):
        if c['cell_type'] != 'code': continue
        lines = code_lines(source(c))
        try: tree = ast.parse('\n'.join(lines))
        except SyntaxError: continue
        kinds = {isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body}
        assert len(kinds) < 2, f'{path.name}: a cell mixes imports with other code:\n{source(c)}'


@pytest.mark.parametrize('path', NBS, ids=lambda p: p.name)
def test_committed_clean(path):
    nb = json.loads(path.read_text())
    for c in nb['cells']:
        assert not c.get('metadata', {}).get('execution'), f'{path.name} has execution metadata: run make clean-nbs'
        for o in c.get('outputs', []):
            assert 'application/vnd.jupyter.widget-view+json' not in o.get('data', {}), f'{path.name} keeps a widget output: run make clean-nbs'


def test_sidebar_lists_every_notebook():
    sidebar = (ROOT / 'nbs' / 'sidebar.yml').read_text()
    listed = re.findall(r'-\s+(\S+\.ipynb)', sidebar)
    assert sorted(listed) == sorted(p.name for p in NBS)
    assert listed[0] == 'index.ipynb' and listed[1:] == sorted(listed[1:])  # reading order


def test_quarto_config_is_shared_with_nbs():
    assert (ROOT / '_quarto.yml').exists() and (ROOT / 'nbs' / '_quarto.yml').resolve() == (ROOT / '_quarto.yml').resolve()
    assert 'sidebar.yml' in (ROOT / '_quarto.yml').read_text()


def test_readme_has_exactly_the_two_commands():
    readme = (ROOT / 'README.md').read_text()
    shell_blocks = re.findall(r'```(?:sh|bash|shell)\n(.*?)```', readme, re.S)
    commands = [l.split('#')[0].strip() for b in shell_blocks for l in b.splitlines() if l.split('#')[0].strip()]
    assert commands == ['make demo', 'make test']
    assert 'make test' in (ROOT / '.ci' / 'run').read_text()
