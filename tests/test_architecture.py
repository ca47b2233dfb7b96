"""The layering the users fixed: all logic in src/quarterstats without Dagster; pipelines/ only wires."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_library_never_imports_dagster():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "src" / "quarterstats").rglob("*.py")
                 if "dagster" in _imports(p)]
    assert offenders == []


def test_only_the_cli_reaches_into_the_pipeline_wiring():
    users = [str(p.relative_to(ROOT)) for p in (ROOT / "src" / "quarterstats").rglob("*.py")
             if "pipelines" in _imports(p)]
    assert users == ["src/quarterstats/cli.py"]


def test_asset_modules_stay_thin():
    for path in (ROOT / "pipelines" / "assets").glob("*.py"):
        code_lines = [l for l in path.read_text(encoding="utf-8").splitlines() if l.strip() and not l.strip().startswith("#")]
        assert len(code_lines) < 60, f"{path.name} holds logic; move it to src/quarterstats"
