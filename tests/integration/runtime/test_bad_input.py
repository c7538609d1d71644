"""Bad bundles get a one-line error naming the field, exit 1, and leave nothing behind."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.runtime.conftest import Bundle, run_cmd


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(config: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node.setdefault(key, {})
        if value is _DELETE:
            node.pop(last)
        else:
            node[last] = value
    return edit


_DELETE = object()

CASES: dict[str, tuple[Callable[[dict[str, Any]], None] | str, str]] = {
    "not-json": ("{\"ociVersion\": ", "not valid json"),
    "not-an-object": ("[1, 2]", "config.json"),
    "no-args": (_set("process.args", _DELETE), "process.args"),
    "empty-args": (_set("process.args", []), "process.args"),
    "no-oci-version": (_set("ociVersion", _DELETE), "ociVersion"),
    "args-not-strings": (_set("process.args", ["sh", 3]), "process.args[1]"),
    "relative-cwd": (_set("process.cwd", "tmp"), "process.cwd"),
    "unknown-namespace": (_set("linux.namespaces", [{"type": "mount"}, {"type": "bogus"}]),
                          "linux.namespaces[1].type"),
    "no-mount-namespace": (_set("linux.namespaces", [{"type": "pid"}]), "mount namespace"),
    "namespace-path-missing": (_set("linux.namespaces", [
        {"type": "mount"}, {"type": "network", "path": "/proc/no/such/ns"}]),
        "linux.namespaces[1].path"),
    "unknown-capability": (_set("process.capabilities", {"bounding": ["CAP_NOPE"]}),
                           "CAP_NOPE"),
    "rlimit-above-hard": (_set("process.rlimits", [
        {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 10_000_000}]), "RLIMIT_NOFILE"),
    "unknown-rlimit": (_set("process.rlimits", [
        {"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]), "RLIMIT_BOGUS"),
    "unknown-syscall": (_set("linux.seccomp", {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]}),
        "no_such_syscall"),
    "missing-rootfs": (_set("root.path", "/no/such/rootfs"), "root.path"),
    "bad-mount-option": (_set("mounts", [{"destination": "/x", "type": "tmpfs",
                                          "source": "tmpfs", "options": ["a,b"]}]),
                         "mounts[0].options"),
    "mount-without-destination": (_set("mounts", [{"type": "tmpfs"}]),
                                  "mounts[0].destination"),
    "unknown-hook-kind": (_set("hooks", {"prestop": []}), "hooks.prestop"),
    "systemd-cgroups-path": (_set("linux.cgroupsPath", "system.slice:dockyard:x"),
                             "cgroupsPath"),
    "no-root": (_set("root", _DELETE), "root: missing"),
    "no-process": (_set("process", _DELETE), "process: missing"),
    "unknown-effective-capability": (_set("process.capabilities", {
        "bounding": ["CAP_CHOWN"], "effective": ["CAP_CHOWN", "CAP_FLY"]}), "CAP_FLY"),
    "rlimit-soft-above-own-hard": (_set("process.rlimits", [
        {"type": "RLIMIT_NOFILE", "soft": 30_000, "hard": 20_000}]), "RLIMIT_NOFILE"),
    "unknown-seccomp-action": (_set("linux.seccomp", {"defaultAction": "SCMP_ACT_MAYBE"}),
                               "SCMP_ACT_MAYBE"),
    "bad-rootfs-propagation": (_set("linux.rootfsPropagation", "sideways"),
                               "rootfsPropagation"),
    "namespace-twice": (_set("linux.namespaces", [{"type": "mount"}, {"type": "mount"}]),
                        "linux.namespaces"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_is_refused_cleanly(case: str, runtime_cmd: list[str], state_root: Path,
                                       bundle: Bundle) -> None:
    edit, needle = CASES[case]
    bundle.write()
    if isinstance(edit, str):
        (bundle.path / "config.json").write_text(edit)
    else:
        config = json.loads(json.dumps(bundle.config))
        edit(config)
        (bundle.path / "config.json").write_text(json.dumps(config))
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "run", "-b", str(bundle.path),
                 "bad1"])
    assert r.returncode == 1
    assert needle in r.stderr, r.stderr
    assert r.stderr.startswith("dockyard-runtime: ") and r.stderr.count("\n") == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert not state_root.exists() or not list(state_root.iterdir())
    cgroup = bundle.config["linux"]["cgroupsPath"]
    leftovers = [p for p in Path("/sys/fs/cgroup").glob(f"*{cgroup}") if p.exists()]
    assert not leftovers


def test_unknown_id_and_bad_ids(runtime_cmd: list[str], state_root: Path) -> None:
    for verb in ("state", "start", "kill", "delete", "pause", "resume", "ps", "events"):
        r = run_cmd([*runtime_cmd, "--root", str(state_root), verb, "ghost"])
        assert r.returncode == 1 and "container does not exist: ghost" in r.stderr, (verb, r)
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "state", "../escape"])
    assert r.returncode == 1 and "invalid container id" in r.stderr


def test_systemd_cgroup_flag_is_refused_clearly(runtime_cmd: list[str],
                                                state_root: Path) -> None:
    r = run_cmd([*runtime_cmd, "--systemd-cgroup", "--root", str(state_root), "list"])
    assert r.returncode == 1 and "--systemd-cgroup" in r.stderr


def test_duplicate_id_is_refused_and_keeps_the_first(runtime_cmd: list[str], state_root: Path,
                                                     bundle: Bundle) -> None:
    bundle.write(args=["sleep", "30"])
    rt = [*runtime_cmd, "--root", str(state_root)]
    with open(bundle.path / "err", "w") as err:
        import subprocess

        assert subprocess.run([*rt, "create", "-b", str(bundle.path), "dup"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=err, timeout=30).returncode == 0
    r = run_cmd([*rt, "create", "-b", str(bundle.path), "dup"])
    assert r.returncode == 1 and "container with id exists: dup" in r.stderr
    assert json.loads(run_cmd([*rt, "state", "dup"]).stdout)["status"] == "created"
