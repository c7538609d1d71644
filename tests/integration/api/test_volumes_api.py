"""The docker CLI against ``dockyard serve``: volumes, mounts and ``docker cp``."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import pytest

from dockyard.api.volumes import go_file_mode
from tests.integration.api.conftest import Served

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def test_volume_verbs_through_the_api(served: Served) -> None:
    vol = "v" + secrets.token_hex(4)
    assert served.ok("volume", "create", "--label", "a=b", vol) == f"{vol}\n"
    doc = json.loads(served.ok("volume", "inspect", vol))[0]
    assert (doc["Name"], doc["Driver"], doc["Labels"], doc["Options"], doc["Scope"]) == (
        vol, "local", {"a": "b"}, {}, "local")
    assert vol in served.ok("volume", "ls", "-q").split()
    assert served.ok("volume", "ls", "-q", "-f", "label=a=b").split() == [vol]
    r = served.docker("volume", "inspect", "nosuch" + vol)
    assert r.returncode == 1 and "no such volume" in r.stderr.lower()
    name = "c" + secrets.token_hex(4)
    out = served.ok("run", "--name", name, "--network", "none", "-v", f"{vol}:/data",
                    "--tmpfs", "/t:size=1m", "busybox", "sh", "-c",
                    "echo kept > /data/f; grep ' /t ' /proc/mounts")
    assert "size=1024k" in out
    mounts = json.loads(served.ok("inspect", "-f", "{{json .Mounts}}", name))
    assert [(m["Type"], m["Name"], m["Destination"], m["Mode"]) for m in mounts] == [
        ("volume", vol, "/data", "z")]
    r = served.docker("volume", "rm", vol)
    assert r.returncode == 1 and f"remove {vol}: volume is in use" in r.stderr
    served.ok("rm", name)
    out = served.ok("run", "--rm", "--network", "none", "--mount",
                    f"source={vol},target=/d,readonly", "busybox", "cat", "/d/f")
    assert out == "kept\n"
    assert served.ok("volume", "rm", vol) == f"{vol}\n"


def test_docker_cp_through_the_api(served: Served, tmp_path: Path) -> None:
    name = "c" + secrets.token_hex(4)
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60")
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("hello")
    os.chmod(src / "sub" / "f", 0o640)
    (src / "link").symlink_to("sub/f")
    try:
        served.ok("cp", str(src), f"{name}:/tmp/")
        assert served.ok("exec", name, "cat", "/tmp/tree/link") == "hello"
        served.ok("cp", f"{name}:/tmp/tree", str(tmp_path / "back"))
        assert (tmp_path / "back" / "sub" / "f").read_text() == "hello"
        assert (tmp_path / "back" / "sub" / "f").stat().st_mode & 0o777 == 0o640
        assert os.readlink(tmp_path / "back" / "link") == "sub/f"
        served.ok("cp", f"{name}:/tmp/tree/sub/f", str(tmp_path / "single"))
        assert (tmp_path / "single").read_text() == "hello"
        r = served.docker("cp", f"{name}:/nope", str(tmp_path / "x"))
        assert r.returncode == 1
        assert "No such container:path" in r.stderr or \
            f"Could not find the file /nope in container {name}" in r.stderr
    finally:
        served.docker("rm", "-f", name)


@pytest.mark.parametrize(("mode", "go"), [
    (0o40755, (1 << 31) | 0o755), (0o100644, 0o644), (0o120777, (1 << 27) | 0o777),
    (0o104755, (1 << 23) | 0o755), (0o41777, (1 << 31) | (1 << 20) | 0o777),
    (0o20666, (1 << 26) | (1 << 21) | 0o666),
])
def test_go_file_mode(mode: int, go: int) -> None:
    assert go_file_mode(mode) == go


def test_docker_cp_into_a_stopped_container_through_the_api(served: Served,
                                                            tmp_path: Path) -> None:
    name = "c" + secrets.token_hex(4)
    vol = "v" + secrets.token_hex(4)
    served.ok("create", "--name", name, "--network", "none", "-v", f"{vol}:/vol", "busybox",
              "cat", "/vol/f")
    (tmp_path / "f").write_text("into the volume\n")
    try:
        served.ok("cp", str(tmp_path / "f"), f"{name}:/vol/f")
        assert served.ok("start", "-a", name) == "into the volume\n"
        served.ok("cp", f"{name}:/vol/f", str(tmp_path / "back"))
        assert (tmp_path / "back").read_text() == "into the volume\n"
    finally:
        served.docker("rm", "-f", "-v", name)
        served.docker("volume", "rm", vol)
