"""The library's shape: no module reaches into another's internals."""
import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / 'sslmem'
MODULES = sorted(p for p in LIB.glob('*.py') if p.name != '_modidx.py')


def private_imports(path: Path) -> list:
    "Names starting with an underscore that `path` imports from another sslmem module."
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or '').split('.')[0] == 'sslmem'):
            found += [f'{node.module}.{a.name}' for a in node.names if a.name.startswith('_') and not a.name.startswith('__')]
    return found


@pytest.mark.parametrize('path', MODULES, ids=lambda p: p.name)
def test_no_module_imports_another_modules_private_names(path):
    assert private_imports(path) == []


def test_the_check_sees_a_private_import(tmp_path):
    module = tmp_path / 'bad.py'
    module.write_text('from .train import _fit, train_pair\nfrom sslmem.memorization import _as_batch\nimport os\n')
    assert private_imports(module) == ['train._fit', 'sslmem.memorization._as_batch']


def public_api() -> list:
    lines = (Path(__file__).parent / 'public_api.txt').read_text().splitlines()
    return [tuple(l.split()) for l in lines if l.strip() and not l.startswith('#')]


def test_every_public_name_ever_exported_still_imports():
    "A script written against an earlier sslmem keeps working: renamed names keep an alias in their old module."
    import importlib, warnings
    missing = []
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)  # an alias may warn; it must still answer
        for module, name in public_api():
            if not hasattr(importlib.import_module(module), name): missing.append(f'{module}.{name}')
    assert missing == []


def test_the_public_api_list_covers_every_current_export():
    "New exports join the list, so that a later rename is caught too."
    import importlib
    listed = set(public_api())
    current = {(f'sslmem.{p.stem}', n) for p in MODULES for n in getattr(importlib.import_module(f'sslmem.{p.stem}'), '__all__', [])}
    assert sorted(current - listed) == []
