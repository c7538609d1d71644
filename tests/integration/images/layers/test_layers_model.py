"""Random images (hypothesis): stacks of layers that add, replace, delete, make opaque
and hardlink across layers end, mounted as an overlay and flattened into a directory,
in the tree the reference model computes."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from dockyard.images.layers import Format, apply_layer
from dockyard.images.snapshots import OverlaySnapshotter, unpack_layer
from tests.unit.images.layers.tarbuild import E, tar_bytes

from .reference import Model, capture, without_dir_mtimes
from .test_layers_semantics import mounted

NAMES = ["a", "b", "c"]


def _through_symlink(model: Model, path: str) -> bool:
    parts = path.split("/")
    return any(model.tree.get("/".join(parts[:i]), ("",))[0] == "symlink"
               for i in range(1, len(parts)))


@st.composite
def images(draw: st.DrawFn) -> list[list[E]]:
    model = Model({}, {})
    layers: list[list[E]] = []
    for _ in range(draw(st.integers(1, 4))):
        layer: list[E] = []
        written: set[str] = set()
        dirs = sorted(p for p, n in model.tree.items() if n[0] == "dir")
        for d in draw(st.lists(st.sampled_from(dirs), max_size=2, unique=True)) if dirs else []:
            if not _through_symlink(model, d + "/x"):
                layer.append(E(f"{d}/.wh..wh..opq"))
        model.apply(layer)  # markers first, as the model (and Docker's sort) has them
        for marker in layer:  # a marker's directory is this layer's: never whited out
            parts = marker.name.split("/")[:-1]
            written.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        done = len(layer)
        for _ in range(draw(st.integers(1, 8))):
            path = "/".join(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3)))
            if _through_symlink(model, path):
                continue
            op = draw(st.sampled_from(["file", "file", "dir", "symlink", "fifo", "hardlink",
                                       "whiteout", "whiteout"]))
            meta = {"uid": draw(st.sampled_from([0, 7])),
                    "mtime": draw(st.integers(0, 2_000_000_000))}
            if op == "whiteout":
                if path in written:
                    continue  # the model and the spec agree; Docker's writers never do it
                parent, _, base = path.rpartition("/")
                entry = E(f"{parent}/.wh.{base}" if parent else f".wh.{base}")
            elif op == "hardlink":
                files = sorted(p for p, n in model.tree.items()
                               if n[0] == "file" and p != path and not path.startswith(p + "/")
                               and not p.startswith(path + "/"))
                if not files:
                    continue
                entry = E(path, "hardlink", link=draw(st.sampled_from(files)),
                          mode=draw(st.sampled_from([0o644, 0o755])), **meta)
            elif op == "dir":
                entry = E(path, "dir", mode=draw(st.sampled_from([0o755, 0o700, 0o1777])),
                          **meta)
            elif op == "file":
                entry = E(path, data=draw(st.binary(max_size=64)),
                          mode=draw(st.sampled_from([0o644, 0o600, 0o4755])), **meta)
            elif op == "symlink":
                entry = E(path, "symlink", link=draw(st.sampled_from(["a", "/b", "../c"])),
                          **meta)
            else:
                entry = E(path, "fifo", **meta)
            layer.append(entry)
            model.apply([entry])  # one entry at a time: sequential semantics
            parts = path.split("/")
            if op != "whiteout":
                written.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        if len(layer) > done or layer:
            layers.append(layer)
    return layers


def expected_tree(layers: list[list[E]]) -> dict[str, object]:
    model = Model({}, {})
    for layer in layers:
        model.apply(layer)
    return dict(without_dir_mtimes(model.tree))


@given(images())
@settings(max_examples=int(os.environ.get("DY_MODEL_EXAMPLES", "80")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_random_images_match_the_model(tmp_path: Path, layers: list[list[E]]) -> None:
    work = tmp_path / "w"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    want = expected_tree(layers)
    for i, layer in enumerate(layers):
        note(f"L{i}: " + "  ".join(f"{e.kind[:4]} {e.name}" + (f"->{e.link}" if e.link else "")
                                  + f" {e.mode:o} {e.uid}" for e in layer))
    flat = work / "flat"
    flat.mkdir()
    for layer in layers:
        apply_layer(io.BytesIO(tar_bytes(layer)), flat, format=Format.DIR)
    assert without_dir_mtimes(capture(flat)) == want
    with OverlaySnapshotter(work / "snapshots") as sn:
        parent = None
        for i, layer in enumerate(layers):
            unpack_layer(sn, io.BytesIO(tar_bytes(layer)), f"L{i}", parent)
            parent = f"L{i}"
        with mounted(sn.view("v", parent), work / "mnt") as root:
            got = without_dir_mtimes(capture(root))
        sn.remove("v")
    assert got == want
