"""write_diff after apply gives back the layer (hypothesis-generated trees); diff_dirs
of two trees, applied to the first, gives the second."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.images.layers import Format, apply_layer, diff_dirs, is_opaque, write_diff
from tests.unit.images.layers.tarbuild import E, tar_bytes

from .reference import capture

NAMES = st.sampled_from(["a", "b", "c", "dé", ".hidden", "x" * 120, "sp ace"])
MODES = st.sampled_from([0o644, 0o600, 0o755, 0o4755, 0o1777, 0o000])
IDS = st.sampled_from([0, 1, 1000, 65534, 3_000_000])
MTIMES = st.integers(0, 4_000_000_000)


@st.composite
def trees(draw: st.DrawFn, whiteouts: bool = False) -> list[E]:
    paths = draw(st.lists(st.lists(NAMES, min_size=1, max_size=4).map(tuple), max_size=14,
                          unique=True))
    kinds: dict[tuple[str, ...], str] = {}
    for p in sorted(paths, key=len):
        if any(p[:i] in kinds and kinds[p[:i]] != "dir" for i in range(1, len(p))):
            continue
        for i in range(1, len(p)):
            kinds.setdefault(p[:i], "dir")
        choices = ["dir", "file", "file", "symlink", "fifo", "hardlink"]
        if whiteouts:
            choices += ["whiteout", "opaque"]
        kinds.setdefault(p, draw(st.sampled_from(choices)))
    out: list[E] = []
    files: list[str] = []
    for p in sorted(kinds):
        name, kind = "/".join(p), kinds[p]
        meta = {"uid": draw(IDS), "gid": draw(IDS), "mtime": draw(MTIMES)}
        if kind == "dir":
            out.append(E(name, "dir", mode=draw(MODES) | 0o700, **meta))
        elif kind == "file":
            out.append(E(name, data=draw(st.binary(max_size=2000)), mode=draw(MODES),
                         xattrs=draw(st.dictionaries(st.sampled_from(["user.a", "user.b"]),
                                                     st.text("xyz", max_size=5))), **meta))
            files.append(name)
        elif kind == "symlink":
            out.append(E(name, "symlink", link=draw(st.sampled_from(["a", "/etc/x", "../b",
                                                                      "t" * 150])), **meta))
        elif kind == "fifo":
            out.append(E(name, "fifo", mode=draw(MODES), **meta))
        elif kind == "hardlink" and files:
            out.append(E(name, "hardlink", link=draw(st.sampled_from(files))))
        elif kind == "whiteout":
            parent, _, base = name.rpartition("/")
            out.append(E(f"{parent}/.wh.{base}" if parent else f".wh.{base}"))
        elif kind == "opaque" and len(p) > 1:
            out.append(E("/".join(p[:-1]) + "/.wh..wh..opq"))
    return out


def _fresh(base: Path, name: str) -> Path:
    d = base / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    return d


def _upper_view(root: Path) -> dict[str, object]:
    """capture() plus what marks an overlay upper: opaque dirs (whiteouts are 0:0 devices)."""
    view: dict[str, object] = dict(capture(root))
    for rel, node in list(view.items()):
        if isinstance(node, tuple) and node[0] == "dir":
            view[rel] = (*node, is_opaque(root / rel))
    return view


SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@given(trees(whiteouts=True))
@SETTINGS
def test_write_diff_of_an_applied_layer_gives_it_back(tmp_path: Path, entries: list[E]) -> None:
    first = _fresh(tmp_path, "first")
    apply_layer(io.BytesIO(tar_bytes(entries)), first, format=Format.OVERLAY)
    out1 = io.BytesIO()
    id1 = write_diff(first, out1)
    second = _fresh(tmp_path, "second")
    applied = apply_layer(io.BytesIO(out1.getvalue()), second, format=Format.OVERLAY)
    assert applied.diff_id == id1
    assert _upper_view(second) == _upper_view(first)
    out2 = io.BytesIO()
    assert write_diff(second, out2) == id1
    assert out2.getvalue() == out1.getvalue()


@given(trees())
@SETTINGS
def test_output_is_a_tar_other_tools_read(tmp_path: Path, entries: list[E]) -> None:
    src = _fresh(tmp_path, "src")
    apply_layer(io.BytesIO(tar_bytes(entries)), src)
    out = io.BytesIO()
    write_diff(src, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
        names = [m.name.rstrip("/") for m in t]
    assert names == sorted(names, key=lambda n: [os.fsencode(p) for p in n.split("/")])
    dest = _fresh(tmp_path, "gnu")
    (tmp_path / "l.tar").write_bytes(out.getvalue())
    subprocess.run(["tar", "-x", "--xattrs", "--xattrs-include=*", "--same-owner",
                    "--numeric-owner", "-p", "-C", str(dest), "-f", str(tmp_path / "l.tar")],
                   check=True)
    assert {k: v[:6] for k, v in capture(dest).items()} == \
        {k: v[:6] for k, v in capture(src).items()}


@given(trees(), trees(whiteouts=False))
@SETTINGS
def test_diff_dirs_then_apply_turns_old_into_new(tmp_path: Path, old: list[E],
                                                 new: list[E]) -> None:
    a, b = _fresh(tmp_path, "a"), _fresh(tmp_path, "b")
    apply_layer(io.BytesIO(tar_bytes(old)), a)
    apply_layer(io.BytesIO(tar_bytes(new)), b)
    out = io.BytesIO()
    diff_dirs(a, b, out)
    apply_layer(io.BytesIO(out.getvalue()), a)
    assert capture(a) == capture(b)


def test_diff_dirs_of_identical_trees_is_empty(tmp_path: Path) -> None:
    a = _fresh(tmp_path, "a")
    apply_layer(io.BytesIO(tar_bytes([E("d/", "dir"), E("d/f", data=b"1")])), a)
    b = tmp_path / "b"
    subprocess.run(["cp", "-a", str(a), str(b)], check=True)
    out = io.BytesIO()
    diff_dirs(a, b, out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as t:
        assert t.getnames() == []
