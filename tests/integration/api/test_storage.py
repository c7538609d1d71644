"""``docker cp`` both ways and ``docker volume`` through ``dockyard serve``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.api.conftest import Served


def test_cp_both_ways(served: Served, name: str, tmp_path: Path) -> None:
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
              "mkdir -p /data/sub && echo inside > /data/sub/f.txt && sleep 60")
    try:
        local = tmp_path / "in.txt"
        local.write_text("from the host\n")
        served.ok("cp", str(local), f"{name}:/data/copied.txt")
        assert served.ok("exec", name, "cat", "/data/copied.txt") == "from the host\n"
        tree = tmp_path / "tree"
        (tree / "deep").mkdir(parents=True)
        (tree / "deep" / "x").write_text("x\n")
        served.ok("cp", str(tree), f"{name}:/data/")
        assert served.ok("exec", name, "cat", "/data/tree/deep/x") == "x\n"
        out = tmp_path / "out"
        served.ok("cp", f"{name}:/data/sub", str(out))
        assert (out / "f.txt").read_text() == "inside\n"
        served.ok("cp", f"{name}:/data/sub/f.txt", str(tmp_path / "single.txt"))
        assert (tmp_path / "single.txt").read_text() == "inside\n"
        r = served.docker("cp", f"{name}:/nope", str(tmp_path / "x"))
        assert r.returncode == 1
        assert r.stderr == f"Error response from daemon: Could not find the file /nope in " \
                           f"container {name}\n"
        # ``..`` stops at the container's root: this is its own /etc/hostname
        served.ok("cp", f"{name}:/../../../../etc/hostname", str(tmp_path / "h"))
        assert (tmp_path / "h").read_text() == served.ok("exec", name, "cat", "/etc/hostname")
    finally:
        served.ok("rm", "-f", name)


def test_volume_create_use_rm(served: Served, name: str) -> None:
    vol = f"{name}-vol"
    assert served.ok("volume", "create", "--label", "k=v", vol).strip() == vol
    info = json.loads(served.ok("volume", "inspect", vol))[0]
    assert info["Name"] == vol and info["Labels"] == {"k": "v"}
    assert vol in served.ok("volume", "ls", "-q")
    served.ok("run", "--rm", "--network", "none", "-v", f"{vol}:/v", "busybox", "sh", "-c",
              "echo kept > /v/f")
    r = served.docker("run", "--rm", "--network", "none", "-v", f"{vol}:/v", "busybox",
                      "cat", "/v/f")
    assert r.stdout == "kept\n", r.stderr
    served.ok("volume", "rm", vol)
    assert vol not in served.ok("volume", "ls", "-q")
