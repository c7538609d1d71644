"""Imports point down the layers, never up, never in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "dockyard"

# Rank of each package; a module may import packages of strictly lower rank (or its own).
RANK: dict[str, float] = {
    "errors": 0, "settings": 0, "fileio": 0, "oci": 1, "runtime": 2,
    "images": 3, "network": 3, "build": 3.5, "distribution": 3.5, "volumes": 3.5,
    "engine": 4, "cli": 5, "api": 5,
}
# Faces that launch another face: ``dockyard serve`` starts the API server.
ALLOWED = {("cli/serve.py", "api")}
# build/ runs stages through a Protocol it owns and engine/ implements, so it never
# imports the engine; likewise every layer meets the one above at its own Protocols.


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    own = _package_of(path)
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import stays inside its package unless it climbs out
                if node.level >= len(path.relative_to(SRC).parts):
                    names = [f"dockyard.{node.module}" if node.module else "dockyard"]
                else:
                    continue
            else:
                names = [node.module or ""]
        for n in names:
            parts = n.split(".")
            if parts[0] == "dockyard" and len(parts) > 1 and parts[1] != own:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path: Path) -> None:
    own = _package_of(path)
    if own not in RANK:
        return
    for pkg in _imported_packages(path):
        if (str(path.relative_to(SRC)), pkg) in ALLOWED:
            continue
        assert pkg in RANK, f"{path}: imports unknown package dockyard.{pkg}"
        assert RANK[pkg] < RANK[own], f"{path}: {own} may not import dockyard.{pkg}"


def test_runtime_imports_only_stdlib() -> None:
    import sys

    allowed = set(sys.stdlib_module_names) | {"dockyard"}
    for path in (SRC / "runtime").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                mods = [node.module or ""]
            else:
                continue
            for m in mods:
                assert m.split(".")[0] in allowed, f"{path}: runtime imports {m}"
