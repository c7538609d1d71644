"""``dockyard pull/push/login/logout`` as commands, against distribution 2.8 with
htpasswd auth and against our own registry; credentials land in $DOCKER_CONFIG."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.images import ImageStore, import_rootfs
from dockyard.settings import Roots
from tests.integration.distribution.conftest import RegistryThread
from tests.integration.distribution.peers import start_distribution, stop

# main.py does not list the registry module yet: register it before running main.
CODE = ("import sys; from dockyard.cli import registry; from dockyard.cli.main import cli, "
        "main; registry.register(cli); sys.exit(main(sys.argv[1:]))")


def dockyard(tmp_path: Path, *args: str, stdin: str = "", root: str = "store"
             ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    return subprocess.run([sys.executable, "-c", CODE, "--root", str(tmp_path / root),
                           "--run-root", str(tmp_path / f"{root}-run"), *args],
                          input=stdin, capture_output=True, text=True, timeout=120, env=env)


@pytest.fixture
def imported(tmp_path: Path, busybox_rootfs: Path) -> str:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(busybox_rootfs, arcname=".")
    buf.seek(0)
    with ImageStore(Roots(tmp_path / "store", tmp_path / "store-run")) as store:
        return str(import_rootfs(store, buf, "local/app:v1").id)


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[str]:
    proc, host = start_distribution(tmp_path / "dist", {"alice": "s3cret"})
    try:
        yield host
    finally:
        stop(proc)


@pytest.mark.peer
@pytest.mark.slow
def test_login_push_pull_logout(tmp_path: Path, imported: str, secured: str) -> None:
    bad = dockyard(tmp_path, "login", "-u", "alice", "--password-stdin", secured,
                   stdin="wrong\n")
    assert bad.returncode == 1 and "unauthorized" in bad.stderr and secured in bad.stderr
    assert not (tmp_path / "docker-config" / "config.json").exists()
    target = f"{secured}/team/app:v1"
    tag = dockyard(tmp_path, "tag", "local/app:v1", target)
    assert tag.returncode == 0, tag.stderr
    denied = dockyard(tmp_path, "push", target)
    assert denied.returncode == 1 and "no basic auth credentials" in denied.stderr
    ok = dockyard(tmp_path, "login", "-u", "alice", "--password-stdin", secured,
                  stdin="s3cret\n")
    assert ok.returncode == 0 and ok.stdout.strip() == "Login Succeeded", ok.stderr
    cfg = json.loads((tmp_path / "docker-config" / "config.json").read_text())
    assert base64.b64decode(cfg["auths"][secured]["auth"]) == b"alice:s3cret"
    assert (tmp_path / "docker-config" / "config.json").stat().st_mode & 0o777 == 0o600
    pushed = dockyard(tmp_path, "push", target)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.splitlines()[-1].startswith("v1: digest: sha256:")
    pulled = dockyard(tmp_path, "pull", target, root="other")
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.splitlines()[-1] == target
    with ImageStore(Roots(tmp_path / "other", tmp_path / "other-run")) as store:
        assert str(store.resolve(target).id) == imported
    out = dockyard(tmp_path, "logout", secured)
    assert out.stdout.strip() == f"Removing login credentials for {secured}"
    assert secured not in json.loads(
        (tmp_path / "docker-config" / "config.json").read_text())["auths"]
    again = dockyard(tmp_path, "pull", target, root="third")
    assert again.returncode == 1
    assert again.stderr == (f'Error: Get "http://{secured}/v2/team/app/manifests/v1": '
                            "no basic auth credentials\n")  # docker's words


def test_cli_pull_errors(tmp_path: Path, registry: RegistryThread) -> None:
    missing = dockyard(tmp_path, "pull", f"127.0.0.1:{registry.port}/none:v1")
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"Error: manifest for 127.0.0.1:{registry.port}/none:v1")
    assert "manifest unknown" in missing.stderr
    bad = dockyard(tmp_path, "pull", "UPPER/case")
    assert bad.returncode == 1 and "invalid reference format" in bad.stderr


def test_cli_push_pull_our_registry(tmp_path: Path, imported: str,
                                   registry: RegistryThread) -> None:
    target = f"127.0.0.1:{registry.port}/app:v1"
    assert dockyard(tmp_path, "tag", "local/app:v1", target).returncode == 0
    assert dockyard(tmp_path, "push", "-q", target).stdout.strip() == target
    pulled = dockyard(tmp_path, "pull", "-q", target, root="other")
    assert pulled.returncode == 0 and pulled.stdout.strip() == target


@pytest.mark.slow
def test_cli_mirror_stands_in_for_docker_hub(tmp_path: Path, imported: str,
                                             registry: RegistryThread) -> None:
    hub_name = f"127.0.0.1:{registry.port}/library/busybox:latest"
    assert dockyard(tmp_path, "tag", "local/app:v1", hub_name).returncode == 0
    assert dockyard(tmp_path, "push", "-q", hub_name).returncode == 0
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path / "docker-config"),
           "DOCKYARD_REGISTRY_MIRRORS": f" {registry.url} "}
    out = subprocess.run([sys.executable, "-c", CODE, "--root", str(tmp_path / "m"),
                          "--run-root", str(tmp_path / "m-run"), "pull", "busybox"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "latest: Pulling from library/busybox"
    assert lines[-2:] == ["Status: Downloaded newer image for busybox:latest",
                          "docker.io/library/busybox:latest"]
    with ImageStore(Roots(tmp_path / "m", tmp_path / "m-run")) as store:
        assert str(store.resolve("busybox").id) == imported
    bad = subprocess.run([sys.executable, "-c", CODE, "--root", str(tmp_path / "m"),
                          "--run-root", str(tmp_path / "m-run"), "pull", "busybox"],
                         capture_output=True, text=True, timeout=60,
                         env={**env, "DOCKYARD_REGISTRY_MIRRORS": "127.0.0.1:1"})
    assert bad.returncode == 1 and "invalid registry mirror '127.0.0.1:1'" in bad.stderr


@pytest.mark.slow
def test_login_push_pull_through_credential_helper(
        tmp_path: Path, imported: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.integration.distribution.peers import htpasswd_line
    from tests.unit.distribution.test_auth import _helper

    secrets = _helper(tmp_path, monkeypatch)  # docker-credential-test on PATH
    (tmp_path / "htpasswd").write_text(htpasswd_line("alice", "s3cret") + "\n")
    server = RegistryThread(tmp_path / "reg", htpasswd=tmp_path / "htpasswd")
    try:
        host = f"127.0.0.1:{server.port}"
        config = tmp_path / "docker-config" / "config.json"
        config.parent.mkdir()
        config.write_text(json.dumps({"credsStore": "test"}))
        ok = dockyard(tmp_path, "login", "-u", "alice", "--password-stdin", host,
                      stdin="s3cret\n")
        assert ok.returncode == 0, ok.stderr
        assert json.loads(secrets.read_text()) == {host: ["alice", "s3cret"]}
        assert "auth" not in json.loads(config.read_text())["auths"].get(host, {})
        target = f"{host}/team/app:v1"
        assert dockyard(tmp_path, "tag", "local/app:v1", target).returncode == 0
        pushed = dockyard(tmp_path, "push", target)
        assert pushed.returncode == 0, pushed.stderr
        pulled = dockyard(tmp_path, "pull", "-q", target, root="other")
        assert pulled.returncode == 0 and pulled.stdout.strip() == target, pulled.stderr
        out = dockyard(tmp_path, "logout", host)
        assert out.stdout.strip() == f"Removing login credentials for {host}"
        assert json.loads(secrets.read_text()) == {}
        denied = dockyard(tmp_path, "pull", target, root="third")
        assert denied.returncode == 1 and "no basic auth credentials" in denied.stderr
    finally:
        server.close()
