"""Mutated layers: whatever the bytes, apply_layer either succeeds or raises a
DockyardError with a one-line message, and never writes outside its destination."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.errors import DockyardError
from dockyard.images.layers import Format, Limits, apply_layer
from tests.unit.images.layers.tarbuild import E, gz, tar_bytes

SEED = tar_bytes([
    E("d/", "dir"), E("d/f", data=b"hello" * 50), E("d/l", "symlink", link="../x"),
    E("d/h", "hardlink", link="d/f"), E("d/.wh.gone"), E("e/.wh..wh..opq"),
    E("p" * 120, data=b"long", xattrs={"user.k": "v"}), E("fifo", "fifo"),
])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from([SEED, gz(SEED)])))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


@given(mutated(), st.sampled_from([Format.DIR, Format.OVERLAY]))
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_mutated_layers_fail_cleanly(tmp_path: Path, data: bytes, fmt: Format) -> None:
    box = tmp_path / "box"
    if box.exists():
        shutil.rmtree(box)
    dest = box / "dest"
    dest.mkdir(parents=True)
    try:
        apply_layer(io.BytesIO(data), dest, format=fmt,
                    limits=Limits(max_size=1 << 20, allow_devices=False))
    except DockyardError as e:
        msg = str(e)
        assert msg and "\n" not in msg
    assert os.listdir(box) == ["dest"]


PARTS = st.sampled_from(["a", "b", "..", ".", "", ".wh.a", ".wh..wh..opq", ".wh.", "x y"])
NAMES = st.lists(PARTS, min_size=1, max_size=4).map("/".join) | st.sampled_from(
    ["/abs", "/", "./", "../../escape", "a/../../b"])


@st.composite
def hostile_entries(draw: st.DrawFn, outside: str) -> list[E]:
    out = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["file", "dir", "symlink", "hardlink", "fifo", "char"]))
        link = draw(NAMES | st.sampled_from([outside, outside + "/f", "/etc/shadow"]))
        out.append(E(draw(NAMES), kind, data=b"pwned", link=link, major=1, minor=3))
    return out


@given(st.data(), st.sampled_from([Format.DIR, Format.OVERLAY]))
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_hostile_names_stay_inside(tmp_path: Path, data: st.DataObject,
                                          fmt: Format) -> None:
    box = tmp_path / "box"
    if box.exists():
        shutil.rmtree(box)
    dest, outside = box / "dest" / "root", box / "outside"
    dest.mkdir(parents=True)
    outside.mkdir()
    (outside / "f").write_text("keep")
    entries = data.draw(hostile_entries(str(outside)))
    try:
        apply_layer(io.BytesIO(tar_bytes(entries)), dest, format=fmt,
                    limits=Limits(allow_devices=False))
    except DockyardError as e:
        assert str(e) and "\n" not in str(e)
    assert sorted(os.listdir(box)) == ["dest", "outside"]
    assert os.listdir(box / "dest") == ["root"]
    assert os.listdir(outside) == ["f"] and (outside / "f").read_text() == "keep"
    assert os.lstat(outside / "f").st_nlink == 1
