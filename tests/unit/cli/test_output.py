"""``ps`` rows, statuses and tables, checked against docker's own client."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.cli.output import ellipsis, parse_time, render_ps, state_status, summary
from tests.unit.cli.docker_oracle import DOCKER, docker_output

NOW = time.time()


def _rfc(seconds_ago: float, now: float = NOW) -> str:
    stamp = now - seconds_ago
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(stamp))
    return f"{whole}.{int((stamp % 1) * 1e9):09d}Z"


@pytest.mark.parametrize(("state", "text"), [
    ({"Status": "running", "Running": True, "StartedAt": _rfc(3)}, "Up 3 seconds"),
    ({"Status": "running", "Running": True, "StartedAt": _rfc(90)}, "Up About a minute"),
    ({"Status": "paused", "Running": True, "Paused": True, "StartedAt": _rfc(7200)},
     "Up 2 hours (Paused)"),
    ({"Status": "restarting", "Running": True, "Restarting": True, "ExitCode": 1,
      "StartedAt": _rfc(60), "FinishedAt": _rfc(5)}, "Restarting (1) 5 seconds ago"),
    ({"Status": "exited", "ExitCode": 137, "StartedAt": _rfc(100), "FinishedAt": _rfc(61)},
     "Exited (137) About a minute ago"),
    ({"Status": "exited", "ExitCode": 0, "StartedAt": _rfc(100), "FinishedAt": _rfc(0.2)},
     "Exited (0) Less than a second ago"),
    ({"Status": "created", "StartedAt": "0001-01-01T00:00:00Z",
      "FinishedAt": "0001-01-01T00:00:00Z"}, "Created"),
    ({"Status": "dead", "Dead": True, "StartedAt": _rfc(5)}, "Dead"),
    ({"Status": "removing", "StartedAt": _rfc(5)}, "Removal In Progress"),
    ({"Status": "running", "Running": True, "StartedAt": _rfc(30),
      "Health": {"Status": "healthy"}}, "Up 30 seconds (healthy)"),
])
def test_state_status(state: dict[str, Any], text: str) -> None:
    assert state_status(state, NOW) == text


def test_parse_time() -> None:
    assert parse_time("1970-01-01T00:00:10Z") == 10
    assert parse_time("1970-01-01T00:00:10.5Z") == 10.5
    assert parse_time("1970-01-01T01:00:10+01:00") == 10
    assert parse_time("1970-01-01T00:00:10.123456789Z") == pytest.approx(10.123456789)
    assert parse_time("0001-01-01T00:00:00Z") is None
    assert parse_time("") is None


@given(st.text(max_size=40), st.integers(min_value=2, max_value=30))
def test_ellipsis(text: str, width: int) -> None:
    cut = ellipsis(text, width)
    assert len(cut) <= max(width, 0)
    assert cut == text or (cut.endswith("…") and text.startswith(cut[:-1]))


def _inspected(now: float = NOW, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Id": "0123456789ab" + "c" * 52,
        "Created": _rfc(3 * 86400, now),
        "Path": "sh",
        "Args": ["-c", "while true; do sleep 1; done"],
        "State": {"Status": "running", "Running": True, "Paused": False, "Restarting": False,
                  "OOMKilled": False, "Dead": False, "Pid": 10, "ExitCode": 0, "Error": "",
                  "StartedAt": _rfc(3 * 86400, now), "FinishedAt": "0001-01-01T00:00:00Z"},
        "Image": "sha256:" + "b" * 64,
        "Name": "/web",
        "Config": {"Image": "busybox", "Labels": {"b": "2", "a": "1"}},
        "HostConfig": {"NetworkMode": "none"},
        "NetworkSettings": {"Networks": {"none": {}}},
        "Mounts": [],
    }
    base.update(over)
    return base


def _entries() -> list[dict[str, Any]]:
    # Ages relative to the moment the test runs (not to import time, minutes earlier in
    # a long session), half-way between the minutes docker rounds to, so the docker
    # client, asked a fraction of a second later, phrases them the same way.
    now = time.time()
    return [
        summary(_inspected(now), now, (12345, 4_500_000)),
        summary(_inspected(
            now,
            Id="f" * 64, Name="/done", Path="true", Args=[],
            State={"Status": "exited", "Running": False, "ExitCode": 3,
                   "StartedAt": _rfc(7300, now), "FinishedAt": _rfc(7200, now)},
            Config={"Image": "docker.io/library/busybox:latest", "Labels": {}},
            Created=_rfc(8000, now)), now, (0, 0)),
        summary(_inspected(
            now,
            Id="e" * 64, Name="/fresh", Path="echo", Args=['say "hi"\tthere'],
            State={"Status": "created", "StartedAt": "0001-01-01T00:00:00Z",
                   "FinishedAt": "0001-01-01T00:00:00Z"},
            Image="sha256:" + "d" * 64, Config={"Image": "sha256:" + "d" * 64, "Labels": {}},
            Created=_rfc(2430, now)), now, (0, 0)),
    ]


PS_CASES = [
    [],
    ["-q"],
    ["--no-trunc"],
    ["-s"],
    ["--format", "{{.Names}}"],
    ["--format", "table {{.ID}}\\t{{.Label \"a\"}}\\t{{.Size}}"],
    ["--format", "table {{upper .Names}}\t{{.State}}\t{{.Status}}"],
    ["--format", "{{.ID}} {{.Image}} {{.Command}} {{.Label \"b\"}} {{.Networks}}"],
    ["--format", "{{if eq .State \"running\"}}{{.Names}} is up{{else}}{{.Names}}: {{.Status}}"
                 "{{end}}"],
    ["--format", "table"],
    ["--no-trunc", "--format", "{{.Command}}|{{.Image}}"],
    ["--format", "{{.RunningFor}}|{{.CreatedAt}}|{{.LocalVolumes}}|{{.Mounts}}"],
]


@pytest.mark.peer
@pytest.mark.skipif(DOCKER is None, reason="the docker client is not installed")
@pytest.mark.parametrize("args", PS_CASES, ids=lambda a: " ".join(a)[:50] or "default")
def test_ps_like_docker(tmp_path: Path, args: list[str]) -> None:
    entries = _entries()
    theirs, stderr = docker_output(tmp_path, ["ps", "-a", *args], {"/containers/json": entries})
    assert theirs, stderr
    fmt = ""
    if "--format" in args:
        fmt = args[args.index("--format") + 1]
    ours = render_ps(entries, fmt, quiet="-q" in args, trunc="--no-trunc" not in args,
                     size="-s" in args, now=time.time())
    assert ours == theirs


@pytest.mark.peer
@pytest.mark.skipif(DOCKER is None, reason="the docker client is not installed")
def test_ps_json_like_docker(tmp_path: Path) -> None:
    entries = _entries()
    theirs, stderr = docker_output(tmp_path, ["ps", "-a", "-s", "--format", "{{json .}}"],
                                   {"/containers/json": entries})
    assert theirs, stderr
    ours = render_ps(entries, "{{json .}}", size=True)
    for mine, line in zip(ours.splitlines(), theirs.splitlines(), strict=True):
        expected = json.loads(line)
        expected.pop("Platform", None)  # added after docker 20.10
        # docker joins labels in Go's random map order
        expected["Labels"] = ",".join(sorted(filter(None, expected["Labels"].split(","))))
        assert json.loads(mine) == expected
        assert list(json.loads(mine)) == sorted(expected)


def test_ps_unknown_field_is_an_error() -> None:
    from dockyard.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="Nope"):
        render_ps(_entries(), "{{.Nope}}")
