"""Frames and the monitor's light JSON helpers."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.engine.monitor.protocol import FrameReader, dumps, encode_frame, loads
from dockyard.engine.monitor.records import error_exit_code, write_json_atomic


@given(st.lists(st.tuples(st.integers(0, 5), st.binary(max_size=50)), max_size=10),
       st.integers(1, 20))
def test_frames_survive_any_chunking(frames: list[tuple[int, bytes]], step: int) -> None:
    wire = b"".join(encode_frame(k, p) for k, p in frames)
    r = FrameReader()
    got = []
    for i in range(0, len(wire), step):
        got += r.feed(wire[i:i + step])
    assert got == frames


def test_oversized_frame_is_refused() -> None:
    with pytest.raises(ValueError, match="too large"):
        FrameReader().feed(bytes([0, 0, 0, 0]) + (1 << 30).to_bytes(4, "big"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=20)


@given(json_values)
def test_dumps_and_loads_agree_with_json(value: object) -> None:
    assert json.loads(dumps(value)) == value
    assert loads(json.dumps(value)) == value


@pytest.mark.parametrize("bad", ["", "{", '{"a": 1} x', "NaN", "[1,]", "{'a': 1}", "\x00"])
def test_loads_rejects_bad_json(bad: str) -> None:
    with pytest.raises(ValueError):
        loads(bad)


def test_dumps_refuses_other_types() -> None:
    with pytest.raises(TypeError, match="set"):
        dumps({1, 2})


@pytest.mark.parametrize(("msg", "code"), [
    ('runc create failed: unable to start container process: exec: "nope": '
     "executable file not found in $PATH", 127),
    ('exec: "/x": stat /x: no such file or directory', 127),
    ('exec: "/etc": permission denied', 126),
    ("invalid rootfs: stat /b/rootfs: no such file or directory", 128),
    ("cgroup: out of memory", 128),
])
def test_error_exit_codes_like_docker(msg: str, code: int) -> None:
    assert error_exit_code(msg) == code


def test_atomic_write_replaces_whole(tmp_path: object) -> None:
    from pathlib import Path

    p = Path(str(tmp_path)) / "state.json"
    write_json_atomic(str(p), {"Status": "running"})
    write_json_atomic(str(p), {"Status": "exited", "ExitCode": 3})
    assert json.loads(p.read_text()) == {"Status": "exited", "ExitCode": 3}
    assert [x.name for x in p.parent.iterdir()] == ["state.json"]
