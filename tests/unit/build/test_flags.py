"""Flag parsing and the Go value syntaxes: durations, sizes, booleans, CSV, mounts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.build.flags import (
    BuildFlags,
    FlagError,
    csv_fields,
    parse_go_bool,
    parse_go_duration,
    parse_ram_bytes,
    suggest,
)
from dockyard.build.mounts import Mount, parse_mount


def test_build_flags_kinds_and_terminator() -> None:
    flags = BuildFlags(["--a", "--s=x", "--m=1", "--m=2", "--", "--ignored"])
    a, s, m = flags.add_bool("a"), flags.add_string("s"), flags.add_strings("m")
    other = flags.add_string("other", "dflt")
    flags.parse()
    assert a.is_true and s.value == "x" and m.values == ["1", "2"] and other.value == "dflt"
    assert flags.used == ["a", "s", "m"] and not other.used


@pytest.mark.parametrize(("args", "message"), [
    (["x"], "arg should start with -- : x"),
    (["--nope"], "unknown flag: --nope"),
    (["--s"], "missing a value on flag: --s"),
    (["--s=1", "--s=2"], "duplicate flag specified: --s"),
    (["--b=yes"], "expecting boolean value for flag --b, not: yes"),
    (["--b="], "missing a value on flag: --b"),
])
def test_build_flags_errors(args: list[str], message: str) -> None:
    flags = BuildFlags(args)
    flags.add_string("s")
    flags.add_bool("b")
    with pytest.raises(FlagError, match=message.replace("(", r"\(")):
        flags.parse()


def test_duplicate_declaration_is_a_programming_error() -> None:
    flags = BuildFlags([])
    flags.add_string("x")
    with pytest.raises(FlagError, match="duplicate flag defined: x"):
        flags.add_bool("x")


def test_bool_values_ignore_case() -> None:
    flags = BuildFlags(["--b=FALSE"])
    b = flags.add_bool("b", True)
    flags.parse()
    assert not b.is_true


@pytest.mark.parametrize(("text", "ns"), [
    ("0", 0), ("1s", 10**9), ("1.5h", 5400 * 10**9), ("1m30s", 90 * 10**9),
    ("300ms", 3 * 10**8), ("2us", 2000), ("2µs", 2000), ("7ns", 7), ("-1s", -(10**9)),
    (".5s", 5 * 10**8), ("1h1m1s1ms", 3661001 * 10**6), ("+2m", 120 * 10**9),
])
def test_go_duration(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(("text", "message"), [
    ("", "invalid duration"), ("5", 'missing unit in duration "5"'), ("s", "invalid duration"),
    ("1x", 'unknown unit "x" in duration "1x"'), ("1.s.", "invalid duration"),
    ("--1s", "invalid duration"), (".s", "invalid duration"), ("1 s", 'unknown unit " s"'),
    ("1s2", "missing unit"), ("9999999999h", "invalid duration"),
])
def test_go_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="time: ") as info:
        parse_go_duration(text)
    assert message in str(info.value)


@given(st.integers(0, 10**6), st.sampled_from(["ns", "us", "ms", "s", "m", "h"]))
def test_go_duration_integer_units(n: int, unit: str) -> None:
    scale = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    assert parse_go_duration(f"{n}{unit}") == n * scale[unit]


@pytest.mark.parametrize(("text", "size"), [
    ("1024", 1024), ("1k", 1024), ("1K", 1024), ("64m", 64 << 20), ("1.5g", 3 << 29),
    ("2GiB", 2 << 30), ("1mb", 1 << 20), ("10b", 10), ("3 k", 3072), ("1t", 1 << 40),
])
def test_ram_bytes(text: str, size: int) -> None:
    assert parse_ram_bytes(text) == size


@pytest.mark.parametrize("text", ["", "k", "-1", "1x", "1kbb", "1bk", "1kb b", "1kxb"])
def test_ram_bytes_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        parse_ram_bytes(text)


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("t", True), ("TRUE", True), ("True", True), ("0", False), ("F", False),
    ("false", False),
])
def test_go_bool(text: str, value: bool) -> None:
    assert parse_go_bool(text) is value


@pytest.mark.parametrize("text", ["yes", "tRUE", "", " 1"])
def test_go_bool_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="invalid boolean"):
        parse_go_bool(text)


@pytest.mark.parametrize(("line", "fields"), [
    ("a,b", ["a", "b"]), ("a", ["a"]), ("a,,b", ["a", "", "b"]), ('"a,b",c', ["a,b", "c"]),
    ('"a""b"', ['a"b']), ("a,", ["a", ""]), (" a , b", [" a ", " b"]),
])
def test_csv_fields(line: str, fields: list[str]) -> None:
    assert csv_fields(line) == fields


@pytest.mark.parametrize("line", ['a"b', '"a"b', '"abc'])
def test_csv_fields_rejects_stray_quotes(line: str) -> None:
    with pytest.raises(ValueError, match='"'):
        csv_fields(line)


@given(st.lists(st.text(alphabet='ab ,"', max_size=4), min_size=1, max_size=4))
def test_csv_round_trip(values: list[str]) -> None:
    line = ",".join('"' + v.replace('"', '""') + '"' for v in values)
    assert csv_fields(line) == values


def test_suggest() -> None:
    assert suggest("unknown: COPPY", "COPPY", ["COPY", "RUN"], case_sensitive=False) == (
        "unknown: COPPY (did you mean COPY?)")
    assert suggest("x", "zzzzz", ["COPY"], case_sensitive=False) == "x"
    assert suggest("x", "copy", ["COPY"], case_sensitive=False) == "x"


def ident(word: str) -> str:
    return word


@pytest.mark.parametrize(("spec", "want"), [
    ("target=/a", Mount(target="/a", read_only=True)),
    ("type=bind,source=/s,target=/t,rw", Mount(source="/s", target="/t")),
    ("type=bind,src=/s,dst=/t,readwrite=false", Mount(source="/s", target="/t", read_only=True)),
    ("type=cache,target=/c,id=x,sharing=Private,mode=0700,uid=1,gid=2",
     Mount(type="cache", target="/c", cache_id="x", cache_sharing="private", mode=0o700,
           uid=1, gid=2)),
    ("type=tmpfs,target=/t,size=64m", Mount(type="tmpfs", target="/t", size_limit=64 << 20)),
    ("type=secret,id=tok,required,env=TOKEN",
     Mount(type="secret", cache_id="tok", required=True, env="TOKEN", read_only=True)),
    ("type=ssh,required=false", Mount(type="ssh", read_only=True)),
    ("type=bind,from=stage,ro=false,destination=/d", Mount(from_="stage", target="/d")),
    ("TYPE=CACHE,target=/c,readonly", Mount(type="cache", target="/c", read_only=True)),
])
def test_parse_mount(spec: str, want: Mount) -> None:
    assert parse_mount(spec, ident) == want


@pytest.mark.parametrize(("spec", "message"), [
    ("type=nfs", 'unsupported mount type "nfs"'),
    ("type=cache,sharing=all", 'unsupported sharing value "all"'),
    ("type=bind,size=1m", "unexpected key 'size' for mount type 'bind'"),
    ("type=bind,required", "unexpected key 'required' for mount type 'bind'"),
    ("target=/a,colour=red", "unexpected key 'colour' in 'colour=red'"),
    ("target=/a,bogus", "invalid field 'bogus' must be a key=value pair"),
    ("type=bind,mode=0700", 'mode not allowed for "bind" type mounts'),
    ("type=tmpfs,uid=1", 'uid not allowed for "tmpfs" type mounts'),
    ("type=cache,gid=x", "invalid value x for gid"),
    ("type=cache,mode=9", "invalid value 9 for mode"),
    ("type=cache,uid=-1", "invalid value -1 for uid"),
    ("type=tmpfs,size=lots", "invalid value for size: lots"),
    ("ro=maybe", "invalid value for ro: maybe"),
    ("type=secret", "invalid secret mount. one of source, target required"),
    ("type=secret,id=a,source=b", "both source and id can't be set"),
    ("type=secret,id=a,from=x", "secret mount should not have a from"),
    ("type=secret,id=a,sharing=shared", "secret mount should not define sharing"),
    ("type=bind,sharing=shared", "invalid cache sharing set for bind mount"),
    ("type=tmpfs,target=/t,size=1q", "invalid value for size: 1q"),
])
def test_parse_mount_errors(spec: str, message: str) -> None:
    with pytest.raises(FlagError) as info:
        parse_mount(spec, ident)
    assert message in str(info.value)


def test_parse_mount_without_expander_defers_all_but_from() -> None:
    assert parse_mount("type=nfs,bogus,target=$T", None) == Mount(read_only=True)
    with pytest.raises(FlagError, match="doesn't support variable expansion"):
        parse_mount("from=$STAGE", None)
    assert parse_mount("from=stage$", None).from_ == "stage$"


def test_parse_mount_expands_values() -> None:
    env = {"T": "/cache", "ID": "pip"}
    mount = parse_mount("type=cache,target=$T,id=$ID", lambda w: w.replace("$T", env["T"])
                        .replace("$ID", env["ID"]))
    assert (mount.target, mount.cache_id) == ("/cache", "pip")
