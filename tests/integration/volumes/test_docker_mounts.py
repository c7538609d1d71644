"""inspect ``.Mounts`` and the storage keys of HostConfig side by side with docker 20.10
for the same ``-v``, ``--mount``, ``--tmpfs`` and ``--volumes-from`` flags."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.integration.volumes.conftest import Dockyard
from tests.support.dockerd import Dockerd

IMAGE = "dytest/volbox:1"


def _normal(mounts: list[dict[str, Any]], volumes_dir: str, tag: str) -> list[dict[str, Any]]:
    """Sorted by destination; volume paths relative to the volumes dir; anonymous volume
    names (64 hex digits) and the test's tag replaced by placeholders."""
    out = []
    for m in sorted(mounts, key=lambda m: str(m["Destination"])):
        m = dict(m)
        if re.fullmatch(r"[0-9a-f]{64}", str(m.get("Name", ""))):
            m["Source"] = str(m["Source"]).replace(str(m["Name"]), "<anon>")
            m["Name"] = "<anon>"
        m["Source"] = str(m["Source"]).replace(volumes_dir, "<volumes>").replace(tag, "<tag>")
        if "Name" in m:
            m["Name"] = str(m["Name"]).replace(tag, "<tag>")
        out.append(m)
    return out


def _cases(host: Path, tag: str) -> list[tuple[str, list[str]]]:
    return [
        # docker 20.10 cannot take --volumes-from a container with a --mount tmpfs (it
        # looks the tmpfs up as a volume named ""), so that one stands alone
        (f"t{tag}", ["--mount", "type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=1700",
                     "--mount", "type=tmpfs,dst=/t2,ro", "--tmpfs", "/t3"]),
        (f"a{tag}", ["-v", f"named{tag}:/data", "-v", f"{host}:/hb:ro", "-v", "/anon",
                     "-v", f"{host}:/hz:z,rshared",
                     "--mount", f"type=volume,source=v4{tag},target=/v4,volume-nocopy",
                     "--mount", "type=bind,source=/tmp,target=/bt,bind-propagation=rslave,"
                                "readonly",
                     "--mount", "type=volume,target=/m-anon",
                     "--tmpfs", "/tt:size=1m"]),
        (f"b{tag}", ["--volumes-from", f"a{tag}:ro", "-v", f"other{tag}:/data2"]),
        (f"c{tag}", ["--volumes-from", f"a{tag}", "--mount",
                     f"type=volume,src=lab{tag},dst=/lab,volume-label=k=v"]),
    ]


@pytest.mark.peer
@pytest.mark.slow
def test_mounts_match_docker(dockerd: Dockerd, dockyard: Dockyard,
                             busybox_rootfs_template: Path, tmp_path: Path) -> None:
    tag = secrets.token_hex(3)
    host = tmp_path / "hostdir"
    host.mkdir()
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    docker_volumes = str(dockerd.base / "data" / "volumes")
    ours_volumes = str(dockyard.root / "volumes")
    try:
        for name, flags in _cases(host, tag):
            made = dockerd.docker("create", "--name", name, "--network", "none", *flags,
                                  IMAGE, "true", check=False)
            assert made.returncode == 0, made.stderr
            dockyard.ok("create", "--name", name, "--network", "none", *flags, "busybox",
                        "true")
            theirs = json.loads(dockerd.docker("inspect", "-f", "{{json .Mounts}}",
                                               name).stdout)
            ours = json.loads(dockyard.ok("inspect", "-f", "{{json .Mounts}}", name))
            assert _normal(ours, ours_volumes, tag) == _normal(theirs, docker_volumes, tag), \
                name
            theirs_doc = json.loads(dockerd.docker("inspect", name).stdout)[0]
            ours_doc = json.loads(dockyard.ok("inspect", name))[0]

            def storage(doc: dict[str, Any]) -> dict[str, Any]:
                hc = doc["HostConfig"]
                return {
                    # the docker client sends Binds in Go map order: compare as a set
                    "Binds": sorted(hc.get("Binds") or []),
                    "Tmpfs": hc.get("Tmpfs"), "Mounts": hc.get("Mounts"),
                    "VolumesFrom": hc.get("VolumesFrom"),
                    # without -v the 20.10 client sends null, docker 28 (whose request
                    # bodies cli/ copies, test_runflags.py) an empty map
                    "Volumes": doc["Config"].get("Volumes") or None,
                }

            assert storage(ours_doc) == storage(theirs_doc), name
        # the volumes both made, by name
        theirs_v = sorted(v.replace(tag, "<tag>") for v in dockerd.docker(
            "volume", "ls", "-q").stdout.split() if tag in v)
        ours_v = sorted(v.replace(tag, "<tag>") for v in dockyard.ok("volume", "ls",
                                                                       "-q").split()
                        if tag in v)
        assert ours_v == theirs_v
        label = json.loads(dockerd.docker("volume", "inspect", f"lab{tag}").stdout)[0]
        ours_label = json.loads(dockyard.ok("volume", "inspect", f"lab{tag}"))[0]
        for key in ("Driver", "Labels", "Options", "Scope"):
            assert ours_label[key] == label[key], key
        # removing a volume in use: the same message. (For volumes that containers got
        # through --volumes-from, docker 20.10 names only the first container, and lets
        # the volume go once that one is removed; we name them all.)
        r = dockerd.docker("volume", "rm", f"lab{tag}", check=False)
        ours_r = dockyard("volume", "rm", f"lab{tag}")
        cid = dockyard.ok("inspect", "-f", "{{.Id}}", f"c{tag}").strip()
        their_ids = dockerd.docker("ps", "-aq", "--no-trunc").stdout.split()
        expected = r.stderr.replace("Error response from daemon: ", "Error: ")
        for their_id in their_ids:
            expected = expected.replace(their_id, "<id>")
        assert ours_r.err.replace(cid, "<id>") == expected
    finally:
        for name, _ in reversed(_cases(host, tag)):
            dockerd.docker("rm", "-f", "-v", name, check=False)
        dockerd.docker("volume", "prune", "-f", check=False)
