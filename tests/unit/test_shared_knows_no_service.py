"""`shared/` is a library: no module of it imports a service package, not even inside a function (import-linter
sees module-level imports only, so this walks every module's syntax tree)."""

import ast
from pathlib import Path

import pytest

from shared.settings import ROOT

SHARED = sorted((ROOT / "shared").rglob("*.py"))


def service_imports(path: Path) -> list[str]:
    """The `services` imports of a module, wherever they stand, as 'line: module'."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in names if name == "services" or name.startswith("services.")]
    return found


def test_the_walk_finds_an_import_inside_a_function(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from services.intake import handlers\n    import services.aggregator\n")
    assert service_imports(probe) == ["2: services.intake", "3: services.aggregator"]


@pytest.mark.parametrize("path", SHARED, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_of_shared_imports_a_service(path):
    assert service_imports(path) == []
