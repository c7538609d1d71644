"""The Go template subset: parsing, execution, printing, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.cli.format import Formatter, tabwrite
from dockyard.cli.template import parse
from dockyard.errors import InvalidArgument
from tests.unit.cli.docker_oracle import DOCKER, docker_output

DOC: dict[str, Any] = {
    "Id": "4a2b" + "0" * 60,
    "Created": "2026-11-27T10:00:00.123456789Z",
    "Path": "sh",
    "Args": ["-c", "echo hi"],
    "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False,
              "OOMKilled": False, "Dead": False, "Pid": 4242, "ExitCode": 0, "Error": "",
              "StartedAt": "2026-11-27T10:00:01.5Z", "FinishedAt": "0001-01-01T00:00:00Z"},
    "Image": "sha256:" + "b" * 64,
    "Name": "/web",
    "RestartCount": 0,
    "HostConfig": {"Memory": 33554432, "NanoCpus": 1500000000, "NetworkMode": "none",
                   "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                   "CapAdd": ["CAP_NET_ADMIN"], "Ulimits": [{"Name": "nofile", "Hard": 20,
                                                             "Soft": 10}]},
    "Mounts": [],
    "Config": {"Hostname": "4a2b00000000", "Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"],
               "Image": "busybox", "Labels": {"zeta": "last", "alpha": "first"},
               "Tty": False},
    "NetworkSettings": {"Networks": {"none": {"IPAddress": ""}}},
}

CASES: list[tuple[str, str]] = [
    ("{{.Name}}", "/web"),
    ("{{.State.Running}}", "true"),
    ("{{.State.Pid}}", "4242"),
    ("{{.HostConfig.Memory}}", "33554432"),
    ("{{.State.Status}} {{.State.ExitCode}}", "running 0"),
    ("{{.Config.Env}}", "[PATH=/bin A=1]"),
    ("{{.Config.Labels}}", "map[alpha:first zeta:last]"),
    ("{{json .Config.Labels}}", '{"alpha":"first","zeta":"last"}'),
    ("{{json .State.Running}}", "true"),
    ("{{json .Config.Env}}", '["PATH=/bin","A=1"]'),
    ("{{json .HostConfig.RestartPolicy}}", '{"Name":"no","MaximumRetryCount":0}'),
    ("{{.HostConfig.RestartPolicy}}", "{no 0}"),
    ("{{.HostConfig.RestartPolicy.Name}}", "no"),
    ("{{range .Config.Env}}{{.}};{{end}}", "PATH=/bin;A=1;"),
    ("{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}", "0=PATH=/bin 1=A=1 "),
    ("{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}},{{end}}", "alpha:first,zeta:last,"),
    ("{{range .Mounts}}{{.Source}}{{else}}no mounts{{end}}", "no mounts"),
    ("{{range .NetworkSettings.Networks}}[{{.IPAddress}}]{{end}}", "[]"),
    ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
    ("{{if not .State.Running}}down{{else if .State.Paused}}paused{{else}}up{{end}}", "up"),
    ("{{if .Config.Tty}}tty{{else if eq .State.Pid 4242}}pid{{else}}none{{end}}", "pid"),
    ("{{with .State}}{{.Status}}/{{.Pid}}{{end}}", "running/4242"),
    ("{{with .Mounts}}some{{else}}none{{end}}", "none"),
    ("{{index .Config.Labels \"zeta\"}}", "last"),
    ("{{index .Config.Env 1}}", "A=1"),
    ("{{index .HostConfig.Ulimits 0}}", "{nofile 20 10}"),
    ("{{(index .HostConfig.Ulimits 0).Soft}}", "10"),
    ("{{join .Config.Env \",\"}}", "PATH=/bin,A=1"),
    ("{{join .Args \" \"}}", "-c echo hi"),
    ("{{upper .State.Status}} {{lower \"ABC\"}} {{title \"hello world\"}}",
     "RUNNING abc Hello World"),
    ("{{split \"a:b:c\" \":\"}}", "[a b c]"),
    ("{{len .Config.Env}} {{len .Name}}", "2 4"),
    ("{{printf \"%s:%d\" .Name .State.Pid}}", "/web:4242"),
    ("{{printf \"%q\" .Name}}", '"/web"'),
    ("{{printf \"%5s|%-5s|\" \"a\" \"b\"}}", "    a|b    |"),
    ("{{.State.Pid | printf \"%08d\"}}", "00004242"),
    ("{{.Name | upper | lower}}", "/web"),
    ("{{pad .State.Status 1 2}}|", " running  |"),
    ("{{truncate .Id 12}}", "4a2b00000000"),
    ("{{eq .State.Status \"exited\" \"running\"}}", "true"),
    ("{{ne .State.ExitCode 1}} {{lt 1 2}} {{ge 2 2}} {{gt 1 2}} {{le 3 2}}",
     "true true true false false"),
    ("{{and .State.Running .State.Pid}} {{or .State.Paused \"fallback\"}}", "4242 fallback"),
    ("{{$n := .Name}}{{range .Config.Env}}{{$n}}{{end}}", "/web/web"),
    ("{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"),
    ("{{$.Name}}{{with .State}}{{$.Id | printf \"%.4s\"}}{{end}}", "/web4a2b"),
    ("a {{- \" b \" -}} c", "a b c"),
    ("x  {{- .Name}}", "x/web"),
    ("{{.Name -}}  \n  y", "/weby"),
    ("{{/* a comment */}}ok", "ok"),
    ("{{print \"a\" 1 2 \"b\"}}", "a1 2b"),
    ("{{`raw \\n`}}", "raw \\n"),
    ("{{\"tab\\tnew\\u00e9\"}}", "tab\tnewé"),
    ("{{true}} {{false}} {{0x10}} {{1.5}}", "true false 16 1.5"),
    ("{{json .}}", None),  # compared whole below
    ("{{.Config.Tty}}", "false"),
    ("{{slice .Config.Env 1}}", "[A=1]"),
    ("{{\"}}\"}}|{{`{{x}}`}}", "}}|{{x}}"),
    ("{{printf \"%s}}\" \"a\\\"b\"}}", 'a"b}}'),
]


@pytest.mark.parametrize(("source", "expected"), [c for c in CASES if c[1] is not None],
                         ids=[c[0][:40] for c in CASES if c[1] is not None])
def test_execute(source: str, expected: str) -> None:
    assert parse(source).execute(DOC) == expected


def test_json_dot_round_trips() -> None:
    assert json.loads(parse("{{json .}}").execute(DOC)) == DOC


@pytest.mark.parametrize(("source", "message"), [
    ("{{.Name", "unclosed action"),
    ("{{if .State.Running}}x", "unexpected EOF"),
    ("{{end}}", "unexpected {{end}}"),
    ("{{nosuch .Name}}", 'function "nosuch" not defined'),
    ("{{.Name .State}}", "can't give argument to non-function .Name"),
    ("{{$nope}}", "undefined variable: $nope"),
    ("{{.Nope}}", 'map has no entry for key "Nope"'),
    ("{{.Name.Sub}}", "can't evaluate field Sub in type string"),
    ("{{index .Config.Env 5}}", "error calling index"),
    ("{{eq .Name 1}}", "incompatible types for comparison"),
    ("{{range .Name}}{{end}}", "range can't iterate over /web"),
    ("{{(.Name}}", "unclosed left paren"),
    ("{{}}", "missing value for command"),
    ("{{/* open }}", "unclosed comment"),
    ("{{define \"x\"}}{{end}}", "define is not supported"),
    ("{{\"bad \\q\"}}", "invalid syntax"),
    ("{{.Name | }}", "missing command"),
    ("{{index}}", "wrong number of args for index: got 0"),
    ("{{printf}}", "wrong number of args for printf: got 0"),
    ("{{json .Name .Name}}", "wrong number of args for json: got 2"),
    ("{{eq}}", "wrong number of args for eq: got 0"),
    ('{{"\\x4"}}', "invalid syntax in string"),
    ('{{"\\u12"}}', "invalid syntax in string"),
])
def test_errors(source: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse(source).execute(DOC)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_lenient_missing_key() -> None:
    assert parse("{{.Nope}}", strict=False).execute(DOC) == "<no value>"


@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=50))
def test_plain_text_passes_through(text: str) -> None:
    assert parse(text).execute(DOC) == text


@given(st.lists(st.text(alphabet="abc xyz", max_size=8), max_size=6),
       st.sampled_from([",", " ", "--"]))
def test_join_matches_python(items: list[str], sep: str) -> None:
    assert parse("{{join .L .S}}").execute({"L": items, "S": sep}) == sep.join(items)


@given(st.dictionaries(st.text(alphabet="abcdef", min_size=1, max_size=5),
                       st.integers(-5, 5), max_size=6))
def test_range_map_sorted(d: dict[str, int]) -> None:
    out = parse("{{range $k, $v := .}}{{$k}}={{$v}};{{end}}").execute(d)
    assert out == "".join(f"{k}={d[k]};" for k in sorted(d))


def test_table_header_and_alignment() -> None:
    f = Formatter("table {{.A}}\\t{{upper .B}}\\t{{json .C}}", {"A": "COL A", "B": "BEE",
                                                               "C": "SEE"})
    out = f.render([{"A": "x", "B": "y", "C": [1]}, {"A": "longer value", "B": "z", "C": []}])
    assert out == ("COL A          BEE       SEE\n"
                   "x              Y         [1]\n"
                   "longer value   Z         []\n")


def test_json_format_word() -> None:
    assert Formatter("json").render([{"B": 1, "A": 2}]) == '{"B":1,"A":2}\n'


@pytest.mark.parametrize(("text", "expected"), [
    ("a\tb\n", "a         b\n"),
    ("a\tb\nccccccccccccc\td\n", "a" + " " * 15 + "b\nccccccccccccc   d\n"),
    ("x\ny\tz\n", "x\ny         z\n"),
    ("a\tb\tc\naa\tbb\n", "a         b         c\naa        bb\n"),
    ("", ""),
])
def test_tabwrite(text: str, expected: str) -> None:
    assert tabwrite(text) == expected


# docker prints a Ulimit through its String method ("nofile=10:20"); we print the dict.
INSPECT_CASES = [c[0] for c in CASES if c[1] is not None and "Ulimits 0}}" not in c[0]]


@pytest.mark.peer
@pytest.mark.slow
@pytest.mark.skipif(DOCKER is None, reason="the docker client is not installed")
@pytest.mark.parametrize("source", INSPECT_CASES, ids=[s[:40] for s in INSPECT_CASES])
def test_inspect_format_like_docker(tmp_path: Path, source: str) -> None:
    theirs, stderr = docker_output(tmp_path, ["container", "inspect", "-f", source, "web"],
                                   {"/containers/web/json": DOC})
    assert theirs, stderr
    assert parse(source).execute(DOC) + "\n" == theirs


_CELL = st.text(alphabet="abcxyz0123 -", max_size=12)


@given(st.integers(min_value=1, max_value=5).flatmap(
    lambda n: st.lists(st.lists(_CELL, min_size=n, max_size=n), min_size=1, max_size=6)))
def test_tabwrite_aligns_columns(rows: list[list[str]]) -> None:
    out = tabwrite("".join("\t".join(r) + "\n" for r in rows))
    lines = out.split("\n")[:-1]
    assert len(lines) == len(rows)
    ncols = len(rows[0])
    for col in range(ncols - 1):
        width = max(10, max(len(r[col]) for r in rows) + 3)
        for line, row in zip(lines, rows, strict=True):
            start = sum(max(10, max(len(r[c]) for r in rows) + 3) for c in range(col))
            assert line[start:start + len(row[col])] == row[col]
            assert line[start + len(row[col]):start + width].strip() == ""
    for line, row in zip(lines, rows, strict=True):
        assert line.endswith(row[-1])
