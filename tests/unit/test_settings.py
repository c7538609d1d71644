from pathlib import Path

import pytest

from dockyard.settings import Roots


def test_explicit_roots_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_ROOT", "/env/root")
    monkeypatch.setenv("DOCKYARD_RUN_ROOT", "/env/run")
    assert Roots.from_env("/a", "/b") == Roots(Path("/a"), Path("/b"))
    assert Roots.from_env() == Roots(Path("/env/root"), Path("/env/run"))


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCKYARD_ROOT", raising=False)
    monkeypatch.delenv("DOCKYARD_RUN_ROOT", raising=False)
    r = Roots.from_env()
    assert r.root == Path("/var/lib/dockyard")
    assert r.runtime_state == Path("/run/dockyard/runtime")
    assert r.content == Path("/var/lib/dockyard/content")
