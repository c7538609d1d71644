"""docker pull/push through ``dockyard serve`` against Dockyard's registry on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.api.conftest import Served
from tests.integration.distribution.conftest import RegistryThread


@pytest.fixture
def local_registry(tmp_path: Path) -> Iterator[RegistryThread]:
    server = RegistryThread(tmp_path / "registry")
    try:
        yield server
    finally:
        server.close()


def test_push_then_pull(served: Served, local_registry: RegistryThread) -> None:
    served.ok("run", "--rm", "--network", "none", "busybox", "true")
    ref = f"127.0.0.1:{local_registry.port}/api/bb:1"
    served.ok("tag", "busybox", ref)
    out = served.ok("push", ref)
    assert "digest: sha256:" in out
    served.ok("rmi", ref)
    assert ref not in served.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    out = served.ok("pull", ref)
    assert "Downloaded newer image" in out or "Image is up to date" in out
    r = served.docker("run", "--rm", "--network", "none", ref, "echo", "pulled-ok")
    assert r.stdout == "pulled-ok\n", r.stderr
    served.ok("rmi", ref)


def test_pull_missing_is_a_clean_error(served: Served,
                                       local_registry: RegistryThread) -> None:
    r = served.docker("pull", f"127.0.0.1:{local_registry.port}/api/absent:1")
    assert r.returncode == 1
    assert "Error response from daemon" in r.stderr and r.stderr[-1] == "\n"


def test_login(served: Served, tmp_path: Path) -> None:
    import subprocess

    users = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-Bbc", str(users), "someone", "secret"], check=True,
                   capture_output=True)
    gated = RegistryThread(tmp_path / "gated", htpasswd=users)
    try:
        where = f"127.0.0.1:{gated.port}"
        out = served.ok("login", "-u", "someone", "--password-stdin", where, input="secret\n")
        assert "Login Succeeded" in out
        r = served.docker("login", "-u", "someone", "--password-stdin", where,
                          input="wrong\n")
        assert r.returncode == 1 and "Error response from daemon" in r.stderr
    finally:
        gated.close()
    r = served.docker("login", "-u", "someone", "--password-stdin", "127.0.0.1:1",
                      input="secret\n")
    assert r.returncode == 1 and "Error response from daemon" in r.stderr
