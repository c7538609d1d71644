"""linux.rootfsPropagation side by side with runc: the container's mountinfo optional
fields (shared/master/unbindable) for each value, on a rootfs below a shared mount."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.runtime.conftest import RUNC, Bundle, run_cmd
from tests.support.busybox import copy_rootfs

pytestmark = pytest.mark.peer

VALUES = ["", "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable",
          "runbindable"]


@pytest.fixture
def shared_mount(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs made shared in the host mount namespace, unmounted afterwards."""
    where = tmp_path / "shared"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(where)],
                   check=True)
    try:
        subprocess.run(["mount", "--make-shared", str(where)], check=True)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _peer_groups(path: Path) -> set[str]:
    """The peer group numbers of the host's mount at ``path``."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == str(path):
                return {re.sub(r"\D", "", w) for w in fields[6:fields.index("-")]}
    raise AssertionError(f"{path} is not mounted")


def _normalise(mountinfo: str, host_groups: set[str]) -> dict[str, list[str]]:
    """mount point -> its optional fields, each group number replaced by whether it is
    the host mount's ("host") or one made for the container ("new")."""
    out: dict[str, list[str]] = {}
    for line in mountinfo.splitlines():
        fields = line.split()
        optional = []
        for word in fields[6:fields.index("-")]:
            tag, _, number = word.partition(":")
            optional.append(f"{tag}:{'host' if number in host_groups else 'new'}"
                            if number else tag)
        out.setdefault(fields[4], []).append(" ".join(sorted(optional)))
    return out


@pytest.mark.parametrize("value", VALUES)
def test_rootfs_propagation_matches_runc(value: str, runtime_cmd: list[str],
                                         state_root: Path, runc_root: Path, bundle: Bundle,
                                         shared_mount: Path) -> None:
    assert RUNC is not None
    rootfs = copy_rootfs(bundle.rootfs, shared_mount / "rootfs")
    (shared_mount / "volume").mkdir()
    (rootfs / "data").mkdir()
    bundle.config["root"]["path"] = str(rootfs)
    bundle.config["mounts"].append({"destination": "/data", "type": "bind",
                                    "source": str(shared_mount / "volume"),
                                    "options": ["rbind"]})
    if value:
        bundle.config["linux"]["rootfsPropagation"] = value
    bundle.write(args=["cat", "/proc/self/mountinfo"])
    host = _peer_groups(shared_mount)
    seen, failed = {}, {}
    for name, cmd in {"dockyard": [*runtime_cmd, "--root", str(state_root)],
                      "runc": [RUNC, "--root", str(runc_root)]}.items():
        twin = bundle.path.parent / name
        twin.mkdir()
        config = json.loads(json.dumps(bundle.config))
        config["linux"]["cgroupsPath"] += "-" + name
        (twin / "config.json").write_text(json.dumps(config))
        r = run_cmd([*cmd, "run", "--bundle", str(twin), f"prop-{name}"])
        failed[name] = r.returncode != 0
        seen[name] = _normalise(r.stdout, host)
    assert failed["dockyard"] == failed["runc"], failed
    if value == "runbindable":  # the rootfs cannot be bound from an unbindable mount
        assert failed["runc"]
        return
    assert not failed["runc"]
    expected = {"": "master:host", "rslave": "master:host"}.get(value, "")
    assert seen["runc"]["/"] == [expected]  # what runc 1.1 does on this layout
    assert seen["dockyard"]["/"] == seen["runc"]["/"]
    assert seen["dockyard"]["/data"] == seen["runc"]["/data"]
    common = seen["dockyard"].keys() & seen["runc"].keys()
    assert len(common) > 10
    assert {k: seen["dockyard"][k] for k in common} == {k: seen["runc"][k] for k in common}
    shutil.rmtree(rootfs)
