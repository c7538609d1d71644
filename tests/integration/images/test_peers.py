"""Round trips with real tools: skopeo and umoci read what ``save`` writes and write what
``load`` reads; a private dockerd loads our archive and runs it."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.images import ImageStore, check, load, save
from dockyard.settings import Roots
from tests.integration.images.helpers import derive
from tests.support.dockerd import Dockerd

pytestmark = pytest.mark.peer


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install {tool})")
    return path


@pytest.fixture
def store(roots: Roots) -> Iterator[ImageStore]:
    s = ImageStore(roots)
    yield s
    s.close()


def _save_to(store: ImageStore, refs: list[str], path: Path, fmt: str = "both") -> Path:
    with open(path, "wb") as f:
        save(store, refs, f, fmt)
    return path


def _tar_dir(src: Path) -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for p in sorted(src.rglob("*")):
            tf.add(p, str(p.relative_to(src)), recursive=False)
    buf.seek(0)
    return buf


def test_skopeo_reads_both_faces(store: ImageStore, tmp_path: Path) -> None:
    skopeo = _need("skopeo")
    img = derive(store, store.resolve("busybox"), {"hello": b"hi"}, "demo/app:1")
    archive = _save_to(store, ["demo/app:1"], tmp_path / "a.tar")
    for transport in ("docker-archive", "oci-archive"):
        out = subprocess.run([skopeo, "inspect", f"{transport}:{archive}"], check=True,
                             capture_output=True, text=True).stdout
        info = json.loads(out)
        assert info["Layers"] == [str(d.digest) for d in img.manifest.layers], transport
        assert info["Architecture"] == img.config.architecture
    raw = subprocess.run([skopeo, "inspect", "--config", f"docker-archive:{archive}"],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(raw)["rootfs"]["diff_ids"] == [str(d) for d in img.diff_ids]


def test_skopeo_outputs_load_and_unpack(store: ImageStore, roots: Roots, tmp_path: Path) -> None:
    skopeo = _need("skopeo")
    img = derive(store, store.resolve("busybox"), {"hello": b"hi"}, "demo/app:1")
    archive = _save_to(store, ["demo/app:1"], tmp_path / "a.tar")
    layout = tmp_path / "layout"
    subprocess.run([skopeo, "copy", "-q", f"docker-archive:{archive}", f"oci:{layout}:v1"],
                   check=True)
    sk_archive = tmp_path / "skopeo.tar"
    subprocess.run([skopeo, "copy", "-q", f"oci:{layout}:v1",
                    f"docker-archive:{sk_archive}:skopeo/made:2"], check=True)
    other = ImageStore(Roots(tmp_path / "r2", tmp_path / "run2"))
    try:
        assert load(other, _tar_dir(layout)) == [f"Loaded image ID: {img.id}"]  # tag "v1" only
        with open(sk_archive, "rb") as f:
            assert load(other, f) == ["Loaded image: skopeo/made:2"]
        got = other.resolve("skopeo/made:2")
        assert got.id == img.id and got.diff_ids == img.diff_ids
        assert other.unpack(got) == str(img.chain_id)
        assert check(other).clean
    finally:
        other.close()


def test_umoci_layout_loads_and_unpacks(store: ImageStore, roots: Roots,
                                        tmp_path: Path) -> None:
    umoci = _need("umoci")
    layout = tmp_path / "umoci"
    bundle = tmp_path / "bundle"
    subprocess.run([umoci, "init", "--layout", str(layout)], check=True)
    subprocess.run([umoci, "new", "--image", f"{layout}:latest"], check=True)
    # (``umoci insert`` 0.4.7 writes a tar without padding or end blocks, which GNU tar
    # refuses too; unpack/repack writes a proper one.)
    subprocess.run([umoci, "unpack", "--rootless", "--image", f"{layout}:latest",
                    str(bundle)], check=True)
    (bundle / "rootfs" / "greeting").write_text("hello from umoci\n")
    (bundle / "rootfs" / "dir").mkdir()
    (bundle / "rootfs" / "dir" / "f").write_text("y\n")
    subprocess.run([umoci, "repack", "--image", f"{layout}:latest", str(bundle)], check=True)
    subprocess.run([umoci, "config", "--image", f"{layout}:latest", "--config.cmd", "cat",
                    "--config.cmd", "/greeting"], check=True)
    lines = load(store, _tar_dir(layout))
    assert len(lines) == 1 and lines[0].startswith("Loaded image ID: sha256:")
    img = store.get(lines[0].rsplit(" ", 1)[1])
    assert img.config.config["Cmd"] == ["cat", "/greeting"]
    assert len(img.diff_ids) == 1
    assert store.unpack(img) == str(img.chain_id)
    sn_fs = [p for p in roots.snapshots.rglob("greeting")]
    assert [p.read_text() for p in sn_fs] == ["hello from umoci\n"]
    assert check(store).clean


@pytest.mark.slow
def test_docker_loads_and_runs_our_save(store: ImageStore, dockerd: Dockerd,
                                        tmp_path: Path, session_token: str) -> None:
    tag = f"dytest-{session_token}/app:1"
    img = derive(store, store.resolve("busybox"), {"msg": b"saved by dockyard\n"}, tag)
    archive = _save_to(store, [tag], tmp_path / "a.tar")
    try:
        out = dockerd.docker("load", "-i", str(archive)).stdout
        assert f"Loaded image: {tag}" in out
        info = json.loads(dockerd.docker("image", "inspect", tag).stdout)[0]
        assert info["Id"] == str(img.id)
        assert info["RootFS"]["Layers"] == [str(d) for d in img.diff_ids]
        run = dockerd.docker("run", "--rm", "--network", "none", tag, "cat", "/msg")
        assert run.stdout == "saved by dockyard\n"
        # docker-only face too
        docker_only = _save_to(store, [tag], tmp_path / "d.tar", "docker")
        dockerd.docker("rmi", tag)
        assert f"Loaded image: {tag}" in dockerd.docker("load", "-i", str(docker_only)).stdout
        # and back: docker 20.10's own save (legacy layout, <id>/layer.tar) loads here
        theirs = tmp_path / "theirs.tar"
        dockerd.docker("save", "-o", str(theirs), tag)
        other = ImageStore(Roots(tmp_path / "r2", tmp_path / "run2"))
        try:
            with open(theirs, "rb") as f:
                assert load(other, f, unpack=True) == [f"Loaded image: {tag}"]
            got = other.resolve(tag)
            assert got.id == img.id and got.diff_ids == img.diff_ids
            assert check(other).clean
        finally:
            other.close()
    finally:
        dockerd.docker("rmi", "-f", tag, check=False)


def test_oci_image_tool_validates_what_we_write(store: ImageStore, tmp_path: Path) -> None:
    tool = _need("oci-image-tool")
    base = store.resolve("busybox")  # the default image
    derive(store, base, {"a": b"1"}, "v/derived:two")
    from dockyard.images import import_rootfs

    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "motd").write_text("hi\n")
    import_rootfs(store, _tar_dir(rootfs), "v/imported:three",
                  changes=["ENV A=1", "EXPOSE 80"])
    legacy = tmp_path / "legacy.tar"  # a docker-only archive loaded back: manifest rewritten
    _save_to(store, ["v/imported:three"], legacy, "docker")
    store.remove("v/imported:three")
    with open(legacy, "rb") as f:
        load(store, f)
    refs = ["busybox:latest", "v/derived:two", "v/imported:three"]
    out = tmp_path / "layout"
    with tarfile.open(_save_to(store, refs, tmp_path / "all.tar", "oci")) as tf:
        tf.extractall(out, filter="data")

    def validate(*args: str) -> None:
        proc = subprocess.run([tool, "validate", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    validate("--type", "imageIndex", str(out / "index.json"))
    index = json.loads((out / "index.json").read_text())
    assert len(index["manifests"]) == 3
    for entry in index["manifests"]:
        manifest = out / "blobs" / "sha256" / entry["digest"][7:]
        validate("--type", "manifest", str(manifest))
        config = json.loads(manifest.read_text())["config"]["digest"][7:]
        validate("--type", "config", str(out / "blobs" / "sha256" / config))
    # Whole layouts, one image each: 1.0.0-rc1 cannot pick one of several ("not unique")
    for i, ref in enumerate(refs):
        single = tmp_path / f"single{i}"
        with tarfile.open(_save_to(store, [ref], tmp_path / f"{i}.tar", "oci")) as tf:
            tf.extractall(single, filter="data")
        validate("--type", "image", "--ref", f"name={ref.rsplit(':', 1)[1]}", str(single))
