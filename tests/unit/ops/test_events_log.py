"""The on-disk event log (engine/events.py): shape, appends, rotation, filters, follow."""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from pathlib import Path

import pytest

from dockyard.engine import events
from dockyard.settings import Roots


def test_container_event_has_dockers_shape_and_key_order() -> None:
    ev = events.event("container", "die", "abc", {"image": "busybox", "name": "x",
                                                  "exitCode": "0"}, now_ns=1_700_000_000_123)
    assert list(ev) == ["status", "id", "from", "Type", "Action", "Actor", "scope", "time",
                        "timeNano"]
    assert ev["from"] == "busybox" and ev["time"] == 1700 and ev["timeNano"] == 1_700_000_000_123
    assert ev["Actor"] == {"ID": "abc", "Attributes": {"image": "busybox", "name": "x",
                                                       "exitCode": "0"}}


def test_network_event_has_no_deprecated_fields() -> None:
    ev = events.event("network", "connect", "net1", {"container": "c", "name": "bridge"})
    assert "status" not in ev and "id" not in ev and ev["scope"] == "local"


def test_emit_appends_lines_read_back_in_order(roots: Roots) -> None:
    for i in range(5):
        events.emit(roots, "volume", "create", f"v{i}", {"driver": "local"})
    got = list(events.read_events(roots.root))
    assert [e["Actor"]["ID"] for e in got] == [f"v{i}" for i in range(5)]  # type: ignore[index]


def test_since_and_until_select_by_time(roots: Roots) -> None:
    path = events.log_path(roots.root)
    for t in (10, 20, 30):
        events.append(path, events.event("image", "tag", f"i{t}", now_ns=t))
    ids = [e["id"] for e in events.read_events(roots.root, since_ns=15, until_ns=30)]
    assert ids == ["i20", "i30"]


def test_rotation_keeps_the_previous_file(tmp_path: Path) -> None:
    path = str(tmp_path / "events" / "events.log")
    for i in range(50):
        events.append(path, events.event("image", "pull", f"i{i}"), max_bytes=2000)
    assert Path(path + ".1").exists()
    got = [e["id"] for e in events.read_events(tmp_path)]
    assert got == sorted(got, key=lambda s: int(str(s)[1:]))  # oldest first, no repeats
    assert got[-1] == "i49" and len(got) < 50  # older than .1 dropped


def test_a_torn_last_line_is_skipped(roots: Roots) -> None:
    events.emit(roots, "image", "pull", "a")
    with open(events.log_path(roots.root), "ab") as f:
        f.write(b'{"status": "pu')
    assert [e["id"] for e in events.read_events(roots.root)] == ["a"]


def _writer(path: str, n: int, tag: str) -> None:
    for i in range(n):
        events.append(path, events.event("container", "start", f"{tag}-{i}",
                                         {"pad": "x" * 300}))


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    path = str(tmp_path / "events" / "events.log")
    procs = [multiprocessing.Process(target=_writer, args=(path, 200, f"w{k}"))
             for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    lines = Path(path).read_bytes().splitlines()
    assert len(lines) == 800
    assert all(json.loads(line)["Action"] == "start" for line in lines)


def test_stream_follows_new_events_across_a_rotation(tmp_path: Path) -> None:
    path = str(tmp_path / "events" / "events.log")
    events.append(path, events.event("image", "pull", "old"))
    got: list[str] = []
    done = threading.Event()

    def follow() -> None:
        for ev in events.stream_events(tmp_path, poll=0.01, stop=done.is_set):
            got.append(str(ev["id"]))
            if len(got) == 30:
                done.set()

    t = threading.Thread(target=follow)
    t.start()
    time.sleep(0.1)
    for i in range(30):
        events.append(path, events.event("image", "pull", f"n{i}"), max_bytes=1500)
        time.sleep(0.002)
    t.join(10)
    done.set()
    assert got == [f"n{i}" for i in range(30)]  # nothing from before, nothing lost


def ev(type_: str, action: str, actor: str, **attrs: str) -> dict[str, object]:
    return events.event(type_, action, actor, attrs)


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, True),
    ({"type": ["container"]}, True), ({"type": ["image"]}, False),
    ({"event": ["die"]}, True), ({"event": ["start", "die"]}, True), ({"event": ["kill"]}, False),
    ({"container": ["abc"]}, True), ({"container": ["web"]}, True),
    ({"container": ["zzz"]}, False),
    ({"image": ["busybox"]}, True), ({"image": ["alpine"]}, False),
    ({"label": ["tier"]}, True), ({"label": ["tier=front"]}, True),
    ({"label": ["tier=back"]}, False),
    ({"type": ["container"], "event": ["kill"]}, False),
    ({"scope": ["local"]}, True), ({"scope": ["swarm"]}, False),
])
def test_filters(filters: dict[str, list[str]], expected: bool) -> None:
    e = ev("container", "die", "abcdef", image="busybox:latest", name="web", tier="front",
           exitCode="0")
    assert events.matches(e, filters) is expected


def test_health_status_filter_matches_as_a_prefix() -> None:
    e = ev("container", "health_status: healthy", "abc", image="busybox", name="x")
    assert events.matches(e, {"event": ["health_status"]})
    assert events.matches(e, {"event": ["health_status: healthy"]})
    assert not events.matches(e, {"event": ["health"]})
