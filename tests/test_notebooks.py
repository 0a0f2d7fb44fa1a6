"""The notebooks are the book of the library: check that each chapter reads as a chapter, each report as a report, and that all are wired into the docs."""
import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted((ROOT / 'nbs').glob('*.ipynb'))
CHAPTERS = [p for p in NBS if p.name != 'index.ipynb']
REPORTS = sorted((ROOT / 'nbs' / 'reports').glob('*.ipynb'))  # experiments at scale: not exported, run by `make reports`
ALL = NBS + REPORTS
EXPORTS = re.compile(r'^#\|\s*(default_exp|export|exports|exporti|exec_doc)\b', re.M)


def cells(path):
    return json.loads(path.read_text())['cells']


def source(cell):
    return ''.join(cell['source']) if isinstance(cell['source'], list) else cell['source']


def code_lines(src):
    "Lines of a code cell other than nbdev directives, comments and blanks."
    return [l for l in src.splitlines() if l.strip() and not l.lstrip().startswith('#')]


def ids(p): return str(p.relative_to(ROOT / 'nbs'))


@pytest.mark.parametrize('path', ALL, ids=ids)
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


def test_there_are_reports():
    assert len(REPORTS) >= 1 and all(p.parent.name == 'reports' for p in REPORTS)


@pytest.mark.parametrize('path', REPORTS, ids=ids)
def test_report_exports_nothing(path):
    # a report calls the library; it defines none of it, so nbdev-export must never see it
    for c in cells(path):
        if c['cell_type'] == 'code':
            assert not EXPORTS.search(source(c)), f'{path.name} exports code:\n{source(c)}'


@pytest.mark.parametrize('path', REPORTS, ids=ids)
def test_report_runs_its_experiments_as_slow_cells(path):
    # nbdev-test skips them; `make reports` runs them
    assert any(c['cell_type'] == 'code' and source(c).lstrip().startswith('#| slow') for c in cells(path)), f'{path.name} has no slow cells'


def doc_page(path):
    "The page nbdev renders a notebook to, relative to nbs/: the numeric prefix stripped."
    rel = path.relative_to(ROOT / 'nbs')
    return (rel.parent / re.sub(r'^\d+[a-zA-Z0-9]*_', '', rel.name.lower())).with_suffix('.html').as_posix()


def test_links_between_pages_resolve():
    pages = {doc_page(p) for p in ALL}
    for path in ALL:
        here = path.parent.relative_to(ROOT / 'nbs')
        for c in cells(path):
            if c['cell_type'] != 'markdown': continue
            for link in re.findall(r'\]\(([^)#:]+\.html)\)', source(c)):
                target = (here / link).as_posix()
                target = '/'.join(p for p in Path(target).parts if p != '.')
                while '/../' in f'/{target}':  # fold "reports/../x.html" into "x.html"
                    parts = target.split('/'); i = parts.index('..'); target = '/'.join(parts[:i - 1] + parts[i + 1:])
                assert target in pages, f'{ids(path)} links to {link}, which is no page of the book'


def test_every_report_is_pointed_to_by_a_chapter():
    linked = {link for p in CHAPTERS for c in cells(p) if c['cell_type'] == 'markdown'
              for link in re.findall(r'\]\((reports/[^)#]+\.html)\)', source(c))}
    assert {doc_page(p) for p in REPORTS} <= linked


@pytest.mark.parametrize('path', ALL, ids=ids)
def test_imports_are_not_mixed_with_other_code(path):
    # nbdev's docs processing executes every cell that imports, so such cells must do nothing else
    for c in cells(path):
        if c['cell_type'] != 'code': continue
        lines = code_lines(source(c))
        try: tree = ast.parse('\n'.join(lines))
        except SyntaxError: continue
        kinds = {isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body}
        assert len(kinds) < 2, f'{path.name}: a cell mixes imports with other code:\n{source(c)}'


@pytest.mark.parametrize('path', ALL, ids=ids)
def test_committed_clean(path):
    nb = json.loads(path.read_text())
    for c in nb['cells']:
        assert not c.get('metadata', {}).get('execution'), f'{path.name} has execution metadata: run make clean-nbs'
        for o in c.get('outputs', []):
            assert 'application/vnd.jupyter.widget-view+json' not in o.get('data', {}), f'{path.name} keeps a widget output: run make clean-nbs'


def test_sidebar_lists_every_notebook():
    sidebar = (ROOT / 'nbs' / 'sidebar.yml').read_text()
    chapters_part, _, reports_part = sidebar.partition('- section: Reports')
    chapters = re.findall(r'-\s+(\S+\.ipynb)', chapters_part)
    assert chapters == ['index.ipynb'] + sorted(p.name for p in CHAPTERS)  # reading order
    reports = re.findall(r'-\s+(\S+\.ipynb)', reports_part)
    assert reports == [f'reports/{p.name}' for p in REPORTS]  # under their own heading, in the chapters' order


def test_quarto_config_is_shared_with_nbs():
    assert (ROOT / '_quarto.yml').exists() and (ROOT / 'nbs' / '_quarto.yml').resolve() == (ROOT / '_quarto.yml').resolve()
    assert 'sidebar.yml' in (ROOT / '_quarto.yml').read_text()


def test_readme_has_exactly_the_two_commands():
    readme = (ROOT / 'README.md').read_text()
    shell_blocks = re.findall(r'```(?:sh|bash|shell)\n(.*?)```', readme, re.S)
    commands = [l.split('#')[0].strip() for b in shell_blocks for l in b.splitlines() if l.split('#')[0].strip()]
    assert commands == ['make demo', 'make test']
    assert 'make test' in (ROOT / '.ci' / 'run').read_text()
