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
