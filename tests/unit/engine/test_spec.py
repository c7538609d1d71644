"""Spec generation: one test per flag, compared with what dockerd 20.10 writes."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine.config import HostFacts, adapt_host_config, merge_image_config
from dockyard.engine.model import complete_config
from dockyard.engine.spec import (
    ALL_CAPABILITIES,
    INIT_PATH,
    SpecInputs,
    bounding_set,
    build_spec,
    capabilities_for,
    container_env,
)
from dockyard.engine.users import ExecUser
from dockyard.errors import InvalidArgument
from dockyard.oci.docker_defaults import DEFAULT_CAPABILITIES

FACTS = HostFacts(ncpu=2, hard_rlimits={"nofile": 20000})
CID = "ab" * 32


def make(hc: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
         **inputs: Any) -> dict[str, Any]:
    cfg = merge_image_config(complete_config({"Hostname": CID[:12], **(config or {})}),
                             {"Cmd": ["sh"]})
    host, _ = adapt_host_config(hc or {}, FACTS)  # type: ignore[arg-type]
    base = {"container_id": CID, "rootfs": Path("/r"), "user": ExecUser(0, 0, [0]),
            "cgroups_path": f"/dockyard/{CID}", "arch": "x86_64"}
    base.update(inputs)
    return build_spec(cfg, host, SpecInputs(**base))


def test_defaults_match_dockers_config_json() -> None:
    spec = make({"NetworkMode": "none"},
                hostname_path=Path("/c/hostname"), hosts_path=Path("/c/hosts"),
                resolv_conf_path=Path("/c/resolv.conf"))
    proc = spec["process"]
    assert proc["args"] == ["sh"] and proc["cwd"] == "/" and "terminal" not in proc
    assert proc["env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           f"HOSTNAME={CID[:12]}"]
    assert proc["capabilities"]["bounding"] == list(DEFAULT_CAPABILITIES)
    assert proc["capabilities"]["effective"] == proc["capabilities"]["permitted"]
    assert "inheritable" not in proc["capabilities"] and "noNewPrivileges" not in proc
    assert [m["destination"] for m in spec["mounts"]] == [
        "/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm",
        "/etc/resolv.conf", "/etc/hostname", "/etc/hosts"]
    assert spec["mounts"][3]["options"] == ["nosuid", "noexec", "nodev", "ro"]
    assert spec["mounts"][6]["options"][-1] == "size=67108864"
    assert spec["mounts"][8] == {"destination": "/etc/hostname", "type": "bind",
                                 "source": "/c/hostname", "options": ["rbind", "rprivate"]}
    linux = spec["linux"]
    assert [n["type"] for n in linux["namespaces"]] == ["mount", "network", "uts", "pid", "ipc"]
    assert linux["cgroupsPath"] == f"/dockyard/{CID}"
    assert "/proc/kcore" in linux["maskedPaths"] and "/proc/sys" in linux["readonlyPaths"]
    assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO"
    assert linux["resources"]["devices"][0] == {"allow": False, "access": "rwm"}
    assert linux["sysctl"]["net.ipv4.ip_unprivileged_port_start"] == "0"
    assert spec["root"] == {"path": "/r", "readonly": False}
    assert spec["hostname"] == CID[:12]
    json.dumps(spec)


@pytest.mark.parametrize("adds, drops, has, lacks", [
    (["NET_ADMIN"], [], ["CAP_NET_ADMIN", "CAP_CHOWN"], []),
    (["cap_sys_time"], ["MKNOD"], ["CAP_SYS_TIME"], ["CAP_MKNOD"]),
    ([], ["ALL"], [], list(DEFAULT_CAPABILITIES)),
    (["CHOWN"], ["ALL"], ["CAP_CHOWN"], ["CAP_KILL"]),
    (["ALL"], [], ["CAP_SYS_ADMIN", "CAP_BPF"], []),
    (["ALL"], ["SYS_ADMIN"], ["CAP_NET_ADMIN"], ["CAP_SYS_ADMIN"]),
    (["all"], ["all"], ["CAP_SYS_ADMIN"], []),
])
def test_cap_add_and_drop(adds: list[str], drops: list[str], has: list[str],
                          lacks: list[str]) -> None:
    caps = capabilities_for({"CapAdd": adds, "CapDrop": drops}, ALL_CAPABILITIES)
    assert all(c in caps for c in has) and not any(c in caps for c in lacks)
    assert len(caps) == len(set(caps))


def test_unknown_capability_is_named() -> None:
    with pytest.raises(InvalidArgument, match='unknown capability: "CAP_BOGUS"'):
        capabilities_for({"CapAdd": ["bogus"]}, ALL_CAPABILITIES)


def test_all_means_all_that_the_engine_holds() -> None:
    held = [c for c in ALL_CAPABILITIES if c != "CAP_SYS_RESOURCE"]
    assert capabilities_for({"Privileged": True}, held) == held
    assert capabilities_for({"CapAdd": ["ALL"]}, held) == held
    with pytest.raises(InvalidArgument, match="CAP_SYS_RESOURCE is not in this engine's"):
        capabilities_for({"CapAdd": ["SYS_RESOURCE"]}, held)


def test_privileged_opens_everything() -> None:
    spec = make({"Privileged": True})
    assert spec["process"]["capabilities"]["bounding"] == bounding_set()
    assert "seccomp" not in spec["linux"] and "maskedPaths" not in spec["linux"]
    assert "ro" not in spec["mounts"][3]["options"]
    assert spec["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert any(d["path"] == "/dev/null" for d in spec["linux"]["devices"])


def test_seccomp_unconfined_and_custom_profile(tmp_path: Path) -> None:
    assert "seccomp" not in make({"SecurityOpt": ["seccomp=unconfined"]})["linux"]
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                            "subArchitectures": ["SCMP_ARCH_X86"]}],
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"},
                            {"names": ["reboot"], "action": "SCMP_ACT_ALLOW",
                             "includes": {"caps": ["CAP_SYS_BOOT"]}},
                            {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                             "excludes": {"arches": ["amd64"]}}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(profile))
    for opt in (f"seccomp={path}", "seccomp=" + json.dumps(profile)):
        sec = make({"SecurityOpt": [opt]})["linux"]["seccomp"]
        assert sec["defaultAction"] == "SCMP_ACT_ALLOW"
        assert sec["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
        assert [s["names"] for s in sec["syscalls"]] == [["mkdir"]]


def test_no_new_privileges_read_only_and_hostname() -> None:
    spec = make({"SecurityOpt": ["no-new-privileges"], "ReadonlyRootfs": True},
                {"Hostname": "box"}, hosts_path=Path("/c/hosts"))
    assert spec["process"]["noNewPrivileges"] is True
    assert spec["root"]["readonly"] is True
    assert spec["hostname"] == "box"
    assert spec["mounts"][-1]["options"] == ["rbind", "rprivate", "ro"]


def test_ulimits_become_rlimits() -> None:
    spec = make({"Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}]})
    assert spec["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "hard": 2048,
                                           "soft": 1024}]
    assert "rlimits" not in make()["process"]  # default: the caller's own limits


def _block_device() -> tuple[str, int, int]:
    for name in sorted(os.listdir("/dev")):
        st = os.stat(f"/dev/{name}")
        if stat.S_ISBLK(st.st_mode):
            return f"/dev/{name}", os.major(st.st_rdev), os.minor(st.st_rdev)
    pytest.skip("no block device on this host")


def test_resources() -> None:
    dev, major, minor = _block_device()
    spec = make({"Memory": 32 << 20, "MemoryReservation": 16 << 20, "MemorySwap": 64 << 20,
                 "NanoCpus": 500_000_000, "CpuShares": 512, "CpusetCpus": "0",
                 "PidsLimit": 50, "OomKillDisable": True,
                 "BlkioDeviceReadBps": [{"Path": dev, "Rate": 1 << 20}],
                 "BlkioDeviceWriteIOps": [{"Path": dev, "Rate": 100}]})
    res = spec["linux"]["resources"]
    assert res["memory"] == {"limit": 32 << 20, "reservation": 16 << 20, "swap": 64 << 20,
                             "disableOOMKiller": True}
    assert res["cpu"] == {"shares": 512, "period": 100000, "quota": 50000, "cpus": "0"}
    assert res["pids"] == {"limit": 50}
    assert res["blockIO"] == {"throttleReadBpsDevice": [{"major": major, "minor": minor,
                                                         "rate": 1 << 20}],
                              "throttleWriteIOPSDevice": [{"major": major, "minor": minor,
                                                           "rate": 100}]}
    with pytest.raises(InvalidArgument, match="/dev/null is not a block device"):
        make({"BlkioDeviceReadBps": [{"Path": "/dev/null", "Rate": 1}]})


def test_devices() -> None:
    spec = make({"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                              "CgroupPermissions": "rw"}]})
    assert spec["linux"]["devices"][0]["path"] == "/dev/mynull"
    assert spec["linux"]["devices"][0]["major"] == 1
    assert {"allow": True, "type": "c", "major": 1, "minor": 3,
            "access": "rw"} in spec["linux"]["resources"]["devices"]
    for bad, msg in (("/dev/nope", "no such file"), ("/etc/passwd", "not a device node")):
        with pytest.raises(InvalidArgument, match=msg):
            make({"Devices": [{"PathOnHost": bad, "PathInContainer": "/dev/x",
                               "CgroupPermissions": "rwm"}]})
    with pytest.raises(InvalidArgument, match="invalid device mode"):
        make({"Devices": [{"PathOnHost": "/dev/null", "CgroupPermissions": "rwx"}]})


def test_init_wraps_the_command() -> None:
    spec = make({"Init": True}, init_path=Path("/host/dyinit"))
    assert spec["process"]["args"] == [INIT_PATH, "--", "sh"]
    assert spec["mounts"][-1] == {"destination": INIT_PATH, "type": "bind",
                                  "source": "/host/dyinit", "options": ["bind", "ro"]}


def test_network_host_and_cgroupns_private() -> None:
    spec = make({"NetworkMode": "host", "CgroupnsMode": "private"})
    types = [n["type"] for n in spec["linux"]["namespaces"]]
    assert "network" not in types and "cgroup" in types
    assert "sysctl" not in spec["linux"]
    spec = make({}, netns_path="/run/netns/x")
    assert {"type": "network", "path": "/run/netns/x"} in spec["linux"]["namespaces"]


def test_tty_user_workdir_env() -> None:
    spec = make({"ConsoleSize": [24, 80]},
                {"Tty": True, "WorkingDir": "/tmp", "Env": ["HOSTNAME=mine", "X=1"]},
                user=ExecUser(1000, 100, [100, 5]))
    proc = spec["process"]
    assert proc["terminal"] is True and proc["consoleSize"] == {"height": 24, "width": 80}
    assert proc["cwd"] == "/tmp"
    assert proc["user"] == {"uid": 1000, "gid": 100, "additionalGids": [100, 5]}
    assert list(proc["capabilities"]) == ["bounding"]  # non-root: nothing effective
    assert proc["env"][1:] == ["HOSTNAME=mine", "TERM=xterm", "X=1"]


@pytest.mark.parametrize("env, tty, expect", [
    ([], False, ["PATH=", "HOSTNAME=h"]),
    (["PATH=/x"], False, ["PATH=/x", "HOSTNAME=h"]),
    (["A=1"], True, ["PATH=", "HOSTNAME=h", "TERM=xterm", "A=1"]),
    (["TERM=dumb"], True, ["PATH=", "HOSTNAME=h", "TERM=dumb"]),
])
def test_container_env(env: list[str], tty: bool, expect: list[str]) -> None:
    got = container_env({"Hostname": "h", "Env": env, "Tty": tty})
    assert [g if not g.startswith("PATH=/usr") else "PATH=" for g in got] == expect


@pytest.mark.parametrize("hc, join, expect", [
    ({}, {}, ["mount", "network", "uts", "pid", "ipc"]),
    ({"PidMode": "host", "IpcMode": "host", "UTSMode": "host"}, {}, ["mount", "network"]),
    ({"NetworkMode": "container:web", "PidMode": "container:web"},
     {"network": "/proc/7/ns/net", "pid": "/proc/7/ns/pid"},
     ["mount", "network=/proc/7/ns/net", "uts", "pid=/proc/7/ns/pid", "ipc"]),
])
def test_namespace_modes(hc: dict[str, Any], join: dict[str, str], expect: list[str]) -> None:
    spec = make(hc, join=join)
    got = [n["type"] + ("=" + n["path"] if "path" in n else "")
           for n in spec["linux"]["namespaces"]]
    assert got == expect
    assert ("hostname" in spec) == (hc.get("UTSMode") != "host")
    joined_net = str(hc.get("NetworkMode", "")).startswith("container:")
    assert ("sysctl" in spec["linux"]) != joined_net


@pytest.mark.parametrize("hc, message", [
    ({"IpcMode": "bogus"}, "invalid IPC mode: bogus"),
    ({"PidMode": "private"}, "invalid PID mode: private"),
    ({"UTSMode": "x"}, "invalid UTS mode: x"),
    ({"NetworkMode": "container:"}, "network container: not found"),
])
def test_bad_namespace_modes(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        adapt_host_config(hc, FACTS)  # type: ignore[arg-type]
