"""Single flag values, parsed with docker's rules and messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.cli import opts
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("text", "nano"), [
    ("1", 1_000_000_000), ("1.5", 1_500_000_000), ("0.000000001", 1), ("0", 0),
    ("2.25", 2_250_000_000), (".5", 500_000_000), ("3/2", 1_500_000_000), ("16", 16 * 10**9),
])
def test_cpus(text: str, nano: int) -> None:
    assert opts.parse_cpus(text) == nano


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "failed to parse abc as a rational number"),
    ("", "failed to parse  as a rational number"),
    ("1.0000000001", "value is too precise"),
    ("1/3", "value is too precise"),
])
def test_cpus_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        opts.parse_cpus(text)
    assert str(err.value) == message


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**9 - 1))
def test_cpus_decimals_round_trip(whole: int, frac: int) -> None:
    assert opts.parse_cpus(f"{whole}.{frac:09d}") == whole * 10**9 + frac


@pytest.mark.parametrize(("text", "expected"), [
    ("nofile=1024:2048", {"Name": "nofile", "Hard": 2048, "Soft": 1024}),
    ("nofile=1024", {"Name": "nofile", "Hard": 1024, "Soft": 1024}),
    ("nproc=-1", {"Name": "nproc", "Hard": -1, "Soft": -1}),
    ("core=0:0", {"Name": "core", "Hard": 0, "Soft": 0}),
    ("memlock=-1:-1", {"Name": "memlock", "Hard": -1, "Soft": -1}),
])
def test_ulimit(text: str, expected: dict[str, Any]) -> None:
    assert opts.parse_ulimit(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("nofile", "invalid ulimit argument: nofile"),
    ("bogus=1", "invalid ulimit type: bogus"),
    ("nofile=x", 'invalid ulimit soft value: strconv.ParseInt: parsing "x": invalid syntax'),
    ("nofile=1:y", 'invalid ulimit hard value: strconv.ParseInt: parsing "y": invalid syntax'),
    ("nofile=3:2", "ulimit soft limit must be less than or equal to hard limit: 3 > 2"),
    ("nofile=", 'invalid ulimit soft value: strconv.ParseInt: parsing "": invalid syntax'),
    ("nofile=1:99999999999999999999", 'invalid ulimit hard value: strconv.ParseInt: parsing '
     '"99999999999999999999": value out of range'),
])
def test_ulimit_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        opts.parse_ulimit(text)
    assert str(err.value) == message


@given(st.integers(min_value=0, max_value=2**40), st.integers(min_value=0, max_value=2**40))
def test_ulimit_soft_hard(a: int, b: int) -> None:
    soft, hard = min(a, b), max(a, b)
    assert opts.parse_ulimit(f"nofile={soft}:{hard}") == {"Name": "nofile", "Hard": hard,
                                                          "Soft": soft}
    if a != b:
        with pytest.raises(InvalidArgument):
            opts.parse_ulimit(f"nofile={hard}:{soft}")


def test_env() -> None:
    env = {"HOME": "/root", "EMPTY": ""}
    assert opts.parse_env("A=1", env.get) == "A=1"
    assert opts.parse_env("A=", env.get) == "A="
    assert opts.parse_env("A=b=c", env.get) == "A=b=c"
    assert opts.parse_env("HOME", env.get) == "HOME=/root"
    assert opts.parse_env("EMPTY", env.get) == "EMPTY="
    assert opts.parse_env("UNSET", env.get) == "UNSET"
    with pytest.raises(InvalidArgument, match=r"^invalid environment variable: =x$"):
        opts.parse_env("=x", env.get)


def _write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "env.list"
    path.write_bytes(data)
    return str(path)


def test_env_file_rules(tmp_path: Path) -> None:
    data = (b"\xef\xbb\xbf# comment\n\nA=1\n  B=two words  \n\tC=\nD=x=y\n   # indented comment\n"
            b"HOME\nUNSET_VAR_XYZ\nE=\"quoted\"\r\n")
    lookup = {"HOME": "/root"}.get
    assert opts.parse_kv_file(_write(tmp_path, data), lookup) == [
        "A=1", "B=two words  ", "C=", "D=x=y", "HOME=/root", 'E="quoted"']


@pytest.mark.parametrize(("data", "message"), [
    (b"A B=1\n", "variable 'A B' contains whitespaces"),
    (b"=1\n", "no variable name on line '=1'"),
    (b"OK=1\nA\tB=2\n", "variable 'A\tB' contains whitespaces"),
    (b"A=\xff\xfe\n", "contains invalid utf8 bytes at line 1"),
])
def test_env_file_rejects(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        opts.parse_kv_file(_write(tmp_path, data), None)


def test_env_file_missing(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r"^open .*nope: no such file or directory$"):
        opts.read_env_files([str(tmp_path / "nope")])


def test_label_file_drops_bare_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, b"a=1\nbare\n# c=3\n")
    assert opts.read_label_files([path]) == ["a=1"]
    assert opts.parse_label("k") == ("k", "")
    assert opts.parse_label("k=v=w") == ("k", "v=w")


@pytest.mark.parametrize(("text", "expected"), [
    ("/dev/null", ("/dev/null", "/dev/null", "rwm")),
    ("/dev/null:/dev/n", ("/dev/null", "/dev/n", "rwm")),
    ("/dev/null:r", ("/dev/null", "/dev/null", "r")),
    ("/dev/null:/dev/n:rw", ("/dev/null", "/dev/n", "rw")),
    ("/dev/fuse:mrw", ("/dev/fuse", "/dev/fuse", "mrw")),
])
def test_device(text: str, expected: tuple[str, str, str]) -> None:
    d = opts.parse_device(text)
    assert (d["PathOnHost"], d["PathInContainer"], d["CgroupPermissions"]) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("/dev/null:/dev/n:rwx", "invalid device mode: rwx"),
    ("/dev/null:/dev/n:rr", "invalid device mode: rr"),
    ("a:b:c:d", "invalid device specification: a:b:c:d"),
    ("dev/null", "dev/null is not an absolute path"),
    ("/dev/null:n", "n is not an absolute path"),
    ("", "invalid device specification: "),
])
def test_device_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        opts.parse_device(text)
    assert str(err.value) == message


def test_throttle() -> None:
    assert opts.parse_throttle_bps("/dev/sda:1mb") == {"Path": "/dev/sda", "Rate": 1 << 20}
    assert opts.parse_throttle_bps("/dev/sda:100") == {"Path": "/dev/sda", "Rate": 100}
    assert opts.parse_throttle_iops("/dev/sda:1000") == {"Path": "/dev/sda", "Rate": 1000}
    assert opts.parse_weight_device("/dev/sda:300") == {"Path": "/dev/sda", "Weight": 300}
    assert opts.parse_weight_device("/dev/sda:0") == {"Path": "/dev/sda", "Weight": 0}


@pytest.mark.parametrize(("parse", "text", "message"), [
    (opts.parse_throttle_bps, "/dev/sda", "bad format: /dev/sda"),
    (opts.parse_throttle_bps, "sda:1m", "bad format for device path: sda:1m"),
    (opts.parse_throttle_bps, "/dev/sda:x", "invalid rate for device: /dev/sda:x. The correct"),
    (opts.parse_throttle_iops, "/dev/sda:1k", "invalid rate for device: /dev/sda:1k."),
    (opts.parse_throttle_iops, "/dev/sda:-1", "invalid rate for device"),
    (opts.parse_weight_device, "/dev/sda:5", "invalid weight for device: /dev/sda:5"),
    (opts.parse_weight_device, "/dev/sda:1001", "invalid weight for device"),
])
def test_throttle_rejects(parse: Any, text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse(text)
    assert str(err.value).startswith(message)


def test_security_opt(tmp_path: Path) -> None:
    profile = tmp_path / "seccomp.json"
    profile.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []},
                                  indent=4))
    assert opts.parse_security_opt(f"seccomp={profile}") == (
        'seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}')
    assert opts.parse_security_opt("seccomp=unconfined") == "seccomp=unconfined"
    assert opts.parse_security_opt("no-new-privileges") == "no-new-privileges"
    assert opts.parse_security_opt("no-new-privileges=true") == "no-new-privileges=true"
    assert opts.parse_security_opt("label:disable") == "label:disable"
    assert opts.parse_security_opt("apparmor=unconfined") == "apparmor=unconfined"


def test_security_opt_rejects(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match=r'^invalid --security-opt: "foo"$'):
        opts.parse_security_opt("foo")
    with pytest.raises(InvalidArgument, match=r"^opening seccomp profile \(/nonexist\) failed"):
        opts.parse_security_opt("seccomp=/nonexist")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InvalidArgument, match=r"^compacting json for seccomp profile"):
        opts.parse_security_opt(f"seccomp={bad}")


def test_log_opts() -> None:
    assert opts.parse_log_opts("json-file", ["max-size=1m", "max-file=2"]) == {
        "max-size": "1m", "max-file": "2"}
    assert opts.parse_log_opts("none", []) == {}
    with pytest.raises(InvalidArgument, match=r"^invalid logging opts for driver none$"):
        opts.parse_log_opts("none", ["a=b"])
    with pytest.raises(InvalidArgument, match="invalid log opt 'nokey'"):
        opts.parse_log_opts("json-file", ["nokey"])


@pytest.mark.parametrize(("text", "expected"), [
    ("no", ("no", 0)), ("always", ("always", 0)), ("unless-stopped", ("unless-stopped", 0)),
    ("on-failure", ("on-failure", 0)), ("on-failure:5", ("on-failure", 5)), ("", ("", 0)),
])
def test_restart(text: str, expected: tuple[str, int]) -> None:
    policy = opts.parse_restart(text)
    assert (policy["Name"], policy["MaximumRetryCount"]) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("sometimes", "invalid restart policy sometimes"),
    ("always:3", "maximum retry count cannot be used with restart policy 'always'"),
    ("on-failure:x", "invalid restart policy format: maximum retry count must be an integer"),
    ("on-failure:-1", "invalid restart policy: maximum retry count cannot be negative"),
])
def test_restart_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        opts.parse_restart(text)
    assert str(err.value) == message


@pytest.mark.parametrize(("text", "number"), [
    ("SIGTERM", 15), ("TERM", 15), ("term", 15), ("sigkill", 9), ("15", 15), ("9", 9),
    ("SIGUSR1", 10), ("RTMIN+3", 37), ("SIGRTMAX-1", 63), ("SIGRTMIN", 34), ("64", 64),
])
def test_signal(text: str, number: int) -> None:
    assert opts.parse_signal(text) == number


@pytest.mark.parametrize("text", ["FOO", "SIG", "0", "65", "-1", "", "SIGTERM2", "RTMIN+99"])
def test_signal_rejects(text: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        opts.parse_signal(text)
    assert str(err.value) == f"invalid signal: {text}"
