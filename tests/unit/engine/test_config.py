"""Image defaults and flags, and dockerd's HostConfig checks and defaults."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.config import (
    HostFacts,
    adapt_host_config,
    check_name,
    entrypoint_and_args,
    merge_image_config,
    parse_cpuset,
    parse_security_opts,
)
from dockyard.engine.model import HOST_CONFIG_KEYS, complete_config
from dockyard.errors import InvalidArgument

IMAGE: dict[str, Any] = {
    "Entrypoint": ["/entry.sh"], "Cmd": ["serve", "--port=80"], "Env": ["PATH=/img", "A=img"],
    "WorkingDir": "/srv", "User": "daemon", "StopSignal": "SIGQUIT", "Labels": {"l": "img"},
}
FACTS = HostFacts(ncpu=2, cgroup_v2=False, blkio_weight=False,
                  hard_rlimits={"nofile": 20000, "nproc": 1000})


@pytest.mark.parametrize("user, expect", [
    # nothing given: the image decides everything
    ({}, {"Entrypoint": ["/entry.sh"], "Cmd": ["serve", "--port=80"]}),
    # a command replaces CMD, keeps ENTRYPOINT
    ({"Cmd": ["sh"]}, {"Entrypoint": ["/entry.sh"], "Cmd": ["sh"]}),
    # --entrypoint drops the image's CMD too
    ({"Entrypoint": ["/bin/sh"]}, {"Entrypoint": ["/bin/sh"], "Cmd": None}),
    ({"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "x"]},
     {"Entrypoint": ["/bin/sh"], "Cmd": ["-c", "x"]}),
    # --entrypoint "" resets it, the user's command runs alone
    ({"Entrypoint": [""], "Cmd": ["echo", "hi"]}, {"Entrypoint": None, "Cmd": ["echo", "hi"]}),
])
def test_entrypoint_and_cmd_combine_like_docker(user: dict[str, Any],
                                                expect: dict[str, Any]) -> None:
    merged = merge_image_config(complete_config(user), IMAGE)
    assert {k: merged[k] for k in expect} == expect  # type: ignore[literal-required]


def test_empty_entrypoint_without_command_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="No command specified"):
        merge_image_config(complete_config({"Entrypoint": [""]}), IMAGE)
    with pytest.raises(InvalidArgument, match="No command specified"):
        merge_image_config(complete_config({}), {})


@pytest.mark.parametrize("user, key, expect", [
    ({}, "Env", ["PATH=/img", "A=img"]),
    ({"Env": ["A=me", "B=2"]}, "Env", ["A=me", "B=2", "PATH=/img"]),
    ({"Env": ["PATH=/mine"]}, "Env", ["PATH=/mine", "A=img"]),
    ({}, "WorkingDir", "/srv"),
    ({"WorkingDir": "/tmp"}, "WorkingDir", "/tmp"),
    ({}, "User", "daemon"),
    ({"User": "1000:1000"}, "User", "1000:1000"),
    ({}, "StopSignal", "SIGQUIT"),
    ({"StopSignal": "SIGINT"}, "StopSignal", "SIGINT"),
    ({"Labels": {"l": "me", "m": "x"}}, "Labels", {"l": "me", "m": "x"}),
    ({}, "Labels", {"l": "img"}),
])
def test_image_defaults_under_user_values(user: dict[str, Any], key: str, expect: Any) -> None:
    assert merge_image_config(complete_config(user), IMAGE)[key] == expect  # type: ignore[literal-required]


def test_no_labels_anywhere_gives_empty_map_like_docker() -> None:
    assert merge_image_config(complete_config({"Cmd": ["x"]}), {})["Labels"] == {}


@pytest.mark.parametrize("config, path, args", [
    ({"Cmd": ["true"]}, "true", []),
    ({"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"]}, "/bin/sh", ["-c", "echo hi"]),
    ({"Entrypoint": ["/e"]}, "/e", []),
])
def test_path_and_args(config: dict[str, Any], path: str, args: list[str]) -> None:
    assert entrypoint_and_args(complete_config(config)) == (path, args)


@given(st.lists(st.text(alphabet="abcdefgh=", min_size=1, max_size=6), max_size=6),
       st.lists(st.text(alphabet="abcdefgh=", min_size=1, max_size=6), max_size=6))
def test_user_env_always_wins_and_keeps_its_order(user: list[str], image: list[str]) -> None:
    merged = merge_image_config(complete_config({"Env": user, "Cmd": ["x"]}), {"Env": image})
    env = merged["Env"] or []
    if user:
        assert env[: len(user)] == user
        keys = {e.split("=", 1)[0] for e in user}
        assert all(e.split("=", 1)[0] not in keys for e in env[len(user):])
    else:
        assert env == (image or [])


@pytest.mark.parametrize("hc, message", [
    ({"Memory": 1024 * 1024}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 64 << 20, "MemorySwap": 32 << 20}, "Minimum memoryswap limit should be larger"),
    ({"MemorySwap": 64 << 20}, "You should always set the Memory limit"),
    ({"MemoryReservation": 1 << 20}, "Minimum memory reservation allowed is 6MB"),
    ({"Memory": 16 << 20, "MemoryReservation": 32 << 20}, "can not be less than memory reserv"),
    ({"MemorySwappiness": 101}, "valid memory swappiness range is 0-100"),
    ({"NanoCpus": 3 * 10**9}, "Range of CPUs is from 0.01 to 2.00"),
    ({"NanoCpus": 10**9, "CpuQuota": 50000}, "Nano CPUs and CPU Quota cannot both be set"),
    ({"NanoCpus": 10**9, "CpuPeriod": 50000}, "Nano CPUs and CPU Period cannot both be set"),
    ({"CpuPeriod": 10}, "CPU cfs period can not be less than 1ms"),
    ({"CpuQuota": 10}, "CPU cfs quota can not be less than 1ms"),
    ({"CpusetCpus": "5"}, "Requested CPUs are not available - requested 5, available: 0-1"),
    ({"CpusetCpus": "a-b"}, "Invalid value a-b for cpuset cpus"),
    ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
    ({"Ulimits": [{"Name": "nofile", "Soft": 30000, "Hard": 30000}]}, "above this engine's"),
    ({"Ulimits": [{"Name": "nofile", "Soft": 20, "Hard": 10}]}, "soft limit must be less"),
    ({"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}, "invalid ulimit type: bogus"),
    ({"SecurityOpt": ["foo=bar"]}, "invalid --security-opt 2"),
    ({"SecurityOpt": ["nonsense"]}, "invalid --security-opt 1"),
    ({"SecurityOpt": ["no-new-privileges=maybe"]}, "invalid --security-opt 2"),
    ({"SecurityOpt": ["seccomp=/nonexistent/profile.json"]}, "opening seccomp profile"),
    ({"SecurityOpt": ["seccomp={broken"]}, "decoding seccomp profile failed"),
    ({"NetworkMode": "my/net"}, "network my/net not found"),
    ({"AutoRemove": True, "RestartPolicy": {"Name": "always"}}, "AutoRemove"),
    ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy"),
    ({"Bogus": 1}, "hostconfig: unknown field 'Bogus'"),
    ({"OomScoreAdj": 1001}, r"range for oom score adj is \[-1000, 1000\]"),
])
def test_bad_host_config_is_refused_with_dockers_message(hc: dict[str, Any],
                                                          message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        adapt_host_config(hc, FACTS)  # type: ignore[arg-type]


def test_daemon_defaults_are_filled_in() -> None:
    hc, warnings = adapt_host_config({"NetworkMode": "none"}, FACTS)
    assert list(hc) == [k for k in HOST_CONFIG_KEYS if k in hc]
    assert hc["ShmSize"] == 64 << 20 and hc["IpcMode"] == "private"
    assert hc["CgroupnsMode"] == "host" and hc["OomKillDisable"] is False
    assert hc["MaskedPaths"] and "/proc/kcore" in hc["MaskedPaths"]
    assert hc["ReadonlyPaths"] == ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                   "/proc/sysrq-trigger"]
    assert "Init" not in hc and warnings == []


def test_memory_alone_doubles_swap_and_privileged_clears_paths() -> None:
    hc, _ = adapt_host_config({"Memory": 32 << 20, "Privileged": True}, FACTS)
    assert hc["MemorySwap"] == 64 << 20
    assert hc["MaskedPaths"] is None and hc["ReadonlyPaths"] is None


def test_unsupported_blkio_weight_is_discarded_with_dockers_warning() -> None:
    hc, warnings = adapt_host_config({"BlkioWeight": 300}, FACTS)
    assert hc["BlkioWeight"] == 0
    assert warnings == ["Your kernel does not support Block I/O weight or the cgroup is not "
                        "mounted. Weight discarded."]
    hc, warnings = adapt_host_config({"BlkioWeight": 300},
                                     HostFacts(ncpu=2, blkio_weight=True))
    assert hc["BlkioWeight"] == 300 and warnings == []


def test_pids_limit_zero_or_negative_means_unlimited() -> None:
    for value in (0, -1):
        assert adapt_host_config({"PidsLimit": value}, FACTS)[0]["PidsLimit"] is None
    assert adapt_host_config({"PidsLimit": 50}, FACTS)[0]["PidsLimit"] == 50


@pytest.mark.parametrize("name, ok", [
    ("web", True), ("/web", True), ("a.b-c_d", True), ("x", False), ("-x", False),
    ("a b", False), ("ä1", False), ("", False), ("a/b", False),
])
def test_container_names(name: str, ok: bool) -> None:
    if ok:
        assert check_name(name) == name.lstrip("/")
    else:
        with pytest.raises(InvalidArgument, match="Invalid container name"):
            check_name(name)


def test_overlong_names_are_refused() -> None:
    assert check_name("a" * 200) == "a" * 200
    with pytest.raises(InvalidArgument, match="longer than 200 characters"):
        check_name("a" * 201)


@pytest.mark.parametrize("spec, cpus", [
    ("", set()), ("0", {0}), ("0-2", {0, 1, 2}), ("1,3-4", {1, 3, 4}),
])
def test_parse_cpuset(spec: str, cpus: set[int]) -> None:
    assert parse_cpuset(spec) == cpus


def test_security_opts() -> None:
    opts = parse_security_opts(["no-new-privileges", "seccomp=unconfined", "label=disable"])
    assert opts.no_new_privileges and opts.seccomp == "unconfined"
    assert not parse_security_opts(["no-new-privileges=false"]).no_new_privileges
    assert parse_security_opts(["seccomp:unconfined"]).seccomp == "unconfined"


def test_pointer_fields_keep_false_and_zero() -> None:
    from dockyard.engine.model import complete_host_config

    assert complete_host_config({"Init": False})["Init"] is False
    assert "Init" not in complete_host_config({})
    assert complete_config({"StopTimeout": 0})["StopTimeout"] == 0
    assert "StopTimeout" not in complete_config({})
    assert "StopSignal" not in complete_config({"StopSignal": ""})
