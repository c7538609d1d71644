"""``rmi`` and ``image prune`` through the CLI respect the engine's containers."""

from __future__ import annotations

import contextlib

import pytest

import dockyard.cli.main as cli_main
from dockyard.settings import Roots
from tests.support.leaks import remove_cgroup_parent


def test_rmi_refuses_an_image_a_container_uses(roots: Roots, cgroup_parent: str,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.engine import Engine
    from tests.integration.engine.conftest import cleanup_engine

    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ["dockyard.cli.images"])

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = cli_main.main(["--root", str(roots.root), "--run-root",
                                  str(roots.run_root), *args])
        except SystemExit as exit_:  # commands over several objects exit 1 like docker
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    eng = Engine(roots, cgroup_parent=cgroup_parent)
    try:
        eng.create("user", {"Image": "busybox", "Cmd": ["true"]}, {"NetworkMode": "none"})
        iid = eng.images.store.resolve("busybox").id  # type: ignore[attr-defined]
        code, out, err = run("rmi", "busybox")
        assert code == 1 and out == ""
        assert "must force" in err and "is using its referenced image" in err
        assert run("image", "prune", "-a", "-f")[1] == "Total reclaimed space: 0B\n"
        code, out, _ = run("rmi", "-f", "busybox")
        assert (code, out) == (0, "Untagged: busybox:latest\n")  # kept for the container
        assert eng.images.store.get(iid).names == ()  # type: ignore[attr-defined]
        eng.remove("user", force=True)
        code, out, _ = run("image", "prune", "-f")
        assert out.startswith(f"Deleted Images:\ndeleted: {iid}\n")
    finally:
        for c in eng.list(all=True):
            with contextlib.suppress(Exception):
                eng.remove(c["Id"], force=True)
        cleanup_engine(roots)
        with contextlib.suppress(Exception):
            eng.images.store.close()  # type: ignore[attr-defined]
        remove_cgroup_parent(cgroup_parent)


