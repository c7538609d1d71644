"""An OCI layout made by skopeo from our archive loads and runs in the engine."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from dockyard.images import ImageStore, load, save
from dockyard.settings import Roots
from tests.integration.images.helpers import derive
from tests.support.leaks import remove_cgroup_parent

pytestmark = [pytest.mark.peer, pytest.mark.slow]


def _tar_dir(src: Path) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for p in sorted(src.rglob("*")):
            tf.add(p, str(p.relative_to(src)), recursive=False)
    buf.seek(0)
    return buf


def test_skopeo_layout_loads_and_runs(tmp_path: Path, cgroup_parent: str) -> None:
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.skip("skopeo is not installed (apt-get install skopeo)")
    from dockyard.engine import Engine
    from tests.integration.engine.conftest import cleanup_engine

    src = ImageStore(Roots(tmp_path / "src", tmp_path / "src-run"))
    img = derive(src, src.resolve("busybox"), {"msg": b"ran from a skopeo layout\n"}, "x:1")
    with open(tmp_path / "a.tar", "wb") as f:
        save(src, ["x:1"], f)
    src.close()
    layout = tmp_path / "layout"
    subprocess.run([skopeo, "copy", "-q", f"docker-archive:{tmp_path / 'a.tar'}",
                    f"oci:{layout}:docker.io/dytest/from-skopeo:1"], check=True)
    roots = Roots(tmp_path / "root", tmp_path / "run")
    eng = Engine(roots, cgroup_parent=cgroup_parent)
    try:
        store = eng.images.store  # type: ignore[attr-defined]
        assert load(store, _tar_dir(layout)) == ["Loaded image: dytest/from-skopeo:1"]
        assert store.resolve("dytest/from-skopeo:1").id == img.id
        eng.create("loaded", {"Image": "dytest/from-skopeo:1", "Cmd": ["cat", "/msg"]},
                   {"NetworkMode": "none"})
        eng.start("loaded")
        assert eng.wait("loaded")["StatusCode"] == 0
        log = Path(eng.inspect("loaded")["LogPath"]).read_text().splitlines()
        assert "".join(json.loads(line)["log"] for line in log) == "ran from a skopeo layout\n"
        eng.remove("loaded", force=True)
    finally:
        for c in eng.list(all=True):
            with contextlib.suppress(Exception):
                eng.remove(c["Id"], force=True)
        cleanup_engine(roots)
        with contextlib.suppress(Exception):
            eng.images.store.close()  # type: ignore[attr-defined]
        remove_cgroup_parent(cgroup_parent)
