"""save/load: both faces of the archive, round trips, and hostile archives refused with
the store unchanged."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockyard.errors import Corrupt, DockyardError, InvalidArgument, InvalidConfig, NotFound
from dockyard.images import ImageStore, check, import_rootfs, load, save
from dockyard.oci import Digest, mediatypes
from dockyard.settings import Roots
from tests.unit.images.conftest import listing, make_tar
from tests.unit.images.schema import validate

Files = dict[str, bytes]


def read_tar(data: bytes) -> Files:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf if m.isfile()}  # type: ignore[union-attr]


def write_tar(files: Files, extra: Callable[[tarfile.TarFile], None] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        if extra:
            extra(tf)
    return buf.getvalue()


@pytest.fixture
def two_images(store: ImageStore) -> ImageStore:
    import_rootfs(store, io.BytesIO(make_tar({"a": b"A" * 3000})), "app:1",
                  changes=["CMD [\"/a\"]"])
    import_rootfs(store, io.BytesIO(gzip.compress(make_tar({"b": b"B"}))), "me/other:v2")
    return store


def _save(store: ImageStore, refs: list[str], fmt: str = "both") -> bytes:
    buf = io.BytesIO()
    save(store, refs, buf, fmt)
    return buf.getvalue()


def test_save_writes_an_oci_layout_and_a_docker_archive(two_images: ImageStore) -> None:
    data = _save(two_images, ["app:1", "me/other:v2"])
    assert data == _save(two_images, ["app:1", "me/other:v2"])  # deterministic
    files = read_tar(data)
    validate("layout", files["oci-layout"])
    index = json.loads(files["index.json"])
    validate("index", index)
    names = sorted(m["annotations"]["io.containerd.image.name"] for m in index["manifests"])
    assert names == ["docker.io/library/app:1", "docker.io/me/other:v2"]
    for m in index["manifests"]:
        blob = files["blobs/sha256/" + m["digest"][7:]]
        assert Digest.of(blob) == Digest.parse(m["digest"]) and len(blob) == m["size"]
        manifest = json.loads(blob)
        validate("manifest", manifest)
        assert manifest["mediaType"] == mediatypes.OCI_MANIFEST
        validate("config", files["blobs/sha256/" + manifest["config"]["digest"][7:]])
    docker = json.loads(files["manifest.json"])
    assert sorted(e["RepoTags"][0] for e in docker) == ["app:1", "me/other:v2"]
    for e in docker:
        assert e["Config"] in files and all(layer in files for layer in e["Layers"])
    assert set(json.loads(files["repositories"])) == {"app", "me/other"}


@pytest.mark.parametrize("fmt", ["both", "oci", "docker"])
def test_round_trip(two_images: ImageStore, tmp_path: pytest.TempPathFactory, fmt: str) -> None:
    data = _save(two_images, ["app:1", "me/other"], fmt)
    files = read_tar(data)
    assert ("index.json" in files) == (fmt != "docker")
    assert ("manifest.json" in files) == (fmt != "oci")
    other = ImageStore(Roots(tmp_path / "r2", tmp_path / "run2"))  # type: ignore[operator]
    lines = load(other, io.BytesIO(data))
    assert sorted(lines) == ["Loaded image: app:1", "Loaded image: me/other:v2"]
    for ref in ("app:1", "me/other:v2"):
        a, b = two_images.resolve(ref), other.resolve(ref)
        assert a.id == b.id and a.diff_ids == b.diff_ids and a.repo_tags == b.repo_tags
        assert b.config.config == a.config.config
        validate("manifest", other.content.read(b.manifest_digest))
    assert load(other, io.BytesIO(data)) == lines  # loading again changes nothing
    assert len(other.list()) == 2
    other.close()


def test_save_by_id_is_untagged_and_load_says_the_id(two_images: ImageStore,
                                                     tmp_path: pytest.TempPathFactory) -> None:
    img = two_images.resolve("app:1")
    other = ImageStore(Roots(tmp_path / "r2", tmp_path / "run2"))  # type: ignore[operator]
    assert load(other, io.BytesIO(_save(two_images, [img.short_id]))) == \
        [f"Loaded image ID: {img.id}"]
    assert other.get(img.id).names == ()
    other.close()


def test_load_renames_a_tag_that_moves(two_images: ImageStore) -> None:
    data = _save(two_images, ["app:1"])
    old = two_images.resolve("app:1").id
    import_rootfs(two_images, io.BytesIO(make_tar({"new": b"1"})), "app:1")
    new = two_images.resolve("app:1").id
    lines = load(two_images, io.BytesIO(data))
    assert lines[0] == (f"The image app:1 already exists, renaming the old one with ID {new} "
                        "to empty string")
    assert two_images.resolve("app:1").id == old


def test_load_legacy_and_compressed_docker_archives(store: ImageStore) -> None:
    """docker < 25's layout (<id>/layer.tar, a symlinked duplicate layer) gzip-compressed,
    and gzip-compressed layers inside."""
    layer = make_tar({"x": b"1"})
    zlayer = gzip.compress(make_tar({"y": b"2"}))
    d1, d2 = Digest.of(layer), Digest.of(make_tar({"y": b"2"}))
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [str(d1), str(d2), str(d1)]}})
    manifest = [{"Config": "cfg.json", "RepoTags": ["legacy:1"],
                 "Layers": ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"]}]

    def link(tf: tarfile.TarFile) -> None:
        ti = tarfile.TarInfo("ccc/layer.tar")
        ti.type, ti.linkname = tarfile.SYMTYPE, "../aaa/layer.tar"
        tf.addfile(ti)
    data = write_tar({"aaa/layer.tar": layer, "bbb/layer.tar": zlayer,
                      "cfg.json": cfg.encode(), "manifest.json": json.dumps(manifest).encode(),
                      "aaa/VERSION": b"1.0"}, link)
    assert load(store, io.BytesIO(gzip.compress(data))) == ["Loaded image: legacy:1"]
    img = store.resolve("legacy:1")
    assert [d.media_type for d in img.manifest.layers] == [
        mediatypes.OCI_LAYER, mediatypes.OCI_LAYER_GZIP, mediatypes.OCI_LAYER]
    assert img.diff_ids == (d1, d2, d1)
    validate("manifest", store.content.read(img.manifest_digest))  # written as OCI


def _hostile(saved: bytes) -> dict[str, bytes]:
    """Archives that must be refused, each derived from a good one."""
    files = read_tar(saved)
    index = json.loads(files["index.json"])
    mdigest = index["manifests"][0]["digest"][7:]
    manifest = json.loads(files[f"blobs/sha256/{mdigest}"])
    layer_path = "blobs/sha256/" + manifest["layers"][0]["digest"][7:]
    out: dict[str, bytes] = {}

    oci = {k: v for k, v in files.items() if k not in ("manifest.json", "repositories")}
    docker = {k: v for k, v in files.items() if k not in ("index.json", "oci-layout")}
    out["not-a-tar"] = b"this is not a tar archive\n" * 50
    out["empty"] = b""
    out["truncated-archive"] = saved[: len(saved) // 2]
    out["truncated-blob-oci"] = write_tar({**oci, layer_path: files[layer_path][:-100]})
    out["truncated-blob-docker"] = write_tar({**docker, layer_path: files[layer_path][:-100]})
    mismatched = bytearray(files[layer_path])
    mismatched[600] ^= 1
    out["mismatched-blob-oci"] = write_tar({**oci, layer_path: bytes(mismatched)})
    out["mismatched-blob-docker"] = write_tar({**docker, layer_path: bytes(mismatched)})
    out["missing-blob"] = write_tar({k: v for k, v in oci.items() if k != layer_path})
    bad_manifest = dict(manifest, mediaType="application/vnd.example.unknown+json")
    raw = json.dumps(bad_manifest).encode()
    d = Digest.of(raw)
    bad_index = dict(index, manifests=[{"mediaType": bad_manifest["mediaType"],
                                        "digest": str(d), "size": len(raw)}])
    out["unknown-media-type"] = write_tar({**oci, f"blobs/sha256/{d.hex}": raw,
                                           "index.json": json.dumps(bad_index).encode()})
    bad_layer = dict(manifest, layers=[dict(manifest["layers"][0], mediaType="text/plain")])
    raw = json.dumps(bad_layer).encode()
    d = Digest.of(raw)
    bad_index = dict(index, manifests=[dict(index["manifests"][0], digest=str(d),
                                            size=len(raw))])
    out["unknown-layer-media-type"] = write_tar({**oci, f"blobs/sha256/{d.hex}": raw,
                                                 "index.json": json.dumps(bad_index).encode()})
    out["bad-index-json"] = write_tar({**oci, "index.json": b"{nope"})
    out["bad-layout-version"] = write_tar({**oci, "oci-layout": b'{"imageLayoutVersion":"9"}'})
    out["neither-format"] = write_tar({"hello.txt": b"hi"})
    out["dotdot-entry"] = write_tar({**docker, "../escape": b"x"})
    entries = json.loads(files["manifest.json"])
    entries[0]["Layers"] = ["../../etc/passwd"]
    out["dotdot-layer-path"] = write_tar({**docker,
                                          "manifest.json": json.dumps(entries).encode()})
    cfg_path = entries[0]["Config"]
    cfg = json.loads(files[cfg_path])
    cfg["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
    entries = json.loads(files["manifest.json"])
    out["diff-id-mismatch"] = write_tar({**docker, cfg_path: json.dumps(cfg).encode()})

    def device(tf: tarfile.TarFile) -> None:
        ti = tarfile.TarInfo("dev")
        ti.type = tarfile.CHRTYPE
        tf.addfile(ti)
    out["device-entry"] = write_tar(docker, device)

    def duplicate(tf: tarfile.TarFile) -> None:
        ti = tarfile.TarInfo("manifest.json")
        ti.size = 2
        tf.addfile(ti, io.BytesIO(b"[]"))
    out["duplicate-entry"] = write_tar(docker, duplicate)
    return out


HOSTILE = ["not-a-tar", "empty", "truncated-archive", "truncated-blob-oci",
           "truncated-blob-docker", "mismatched-blob-oci", "mismatched-blob-docker",
           "missing-blob", "unknown-media-type", "unknown-layer-media-type", "bad-index-json",
           "bad-layout-version", "neither-format", "dotdot-entry", "dotdot-layer-path",
           "diff-id-mismatch", "device-entry", "duplicate-entry"]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_archives_are_refused_and_change_nothing(two_images: ImageStore, roots: Roots,
                                                         case: str) -> None:
    data = _hostile(_save(two_images, ["app:1"]))[case]
    two_images.remove("app:1")  # so a successful load would show
    before = listing(roots)
    with pytest.raises((InvalidArgument, InvalidConfig, Corrupt)) as info:
        load(two_images, io.BytesIO(data))
    msg = str(info.value)
    assert msg and "\n" not in msg and msg == msg.strip()
    if case.startswith("unknown"):
        assert "unknown media type" in msg
    if case.startswith(("mismatched", "truncated-blob")):
        assert "sha256:" in msg
    assert listing(roots) == before


def test_cli_load_of_bad_input_fails_with_one_line(two_images: ImageStore, roots: Roots,
                                                   tmp_path: pytest.TempPathFactory) -> None:
    cases = _hostile(_save(two_images, ["app:1"]))
    before = listing(roots)
    for case in ("not-a-tar", "mismatched-blob-oci", "unknown-media-type"):
        path = tmp_path / f"{case}.tar"  # type: ignore[operator]
        path.write_bytes(cases[case])
        proc = subprocess.run([sys.executable, "-m", "tests.unit.images.cli_runner", "--root",
                               str(roots.root), "--run-root", str(roots.run_root), "load",
                               "-i", str(path)], capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[3])
        assert proc.returncode != 0, case
        assert proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("Error: ")
    assert listing(roots) == before


def test_save_errors(two_images: ImageStore) -> None:
    with pytest.raises(DockyardError, match="no such image: nope"):
        _save(two_images, ["nope"])
    with pytest.raises(InvalidArgument, match="invalid --format 'tar'"):
        _save(two_images, ["app:1"], "tar")


def test_archives_with_many_files_do_not_hold_an_fd_each(two_images: ImageStore) -> None:
    import resource

    files = read_tar(_save(two_images, ["app:1"], "docker"))
    files.update({f"legacy{i:04d}/VERSION": b"1.0" for i in range(600)})
    data = write_tar(files)
    two_images.remove("app:1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        assert load(two_images, io.BytesIO(data)) == ["Loaded image: app:1"]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert list(two_images.content.ingest_dir.iterdir()) == []


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_archives_load_or_fail_cleanly(two_images: ImageStore, roots: Roots,
                                              data: st.DataObject) -> None:
    """Any byte flipped, cut or inserted: a DockyardError with one line and the store
    unchanged, or (when the damage misses everything that matters) a good load."""
    if "app" not in _SAVED:  # the fixture lives across examples: save once
        _SAVED["app"] = _save(two_images, ["app:1", "me/other:v2"])
    good = _SAVED["app"]
    for ref in ("app:1", "me/other:v2"):
        with contextlib.suppress(NotFound):
            two_images.remove(ref)
    blob = bytearray(good)
    kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    pos = data.draw(st.integers(0, len(blob) - 1))
    if kind == "flip":
        blob[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del blob[pos:]
    else:
        blob[pos:pos] = data.draw(st.binary(min_size=1, max_size=600))
    before = listing(roots)
    try:
        load(two_images, io.BytesIO(bytes(blob)))
    except DockyardError as err:
        assert "\n" not in str(err)
        assert listing(roots) == before
    else:
        assert check(two_images).clean


_SAVED: dict[str, bytes] = {}


def test_multi_platform_layout_loads_the_host_image(two_images: ImageStore) -> None:
    from dockyard.oci import host_platform

    files = read_tar(_save(two_images, ["app:1"], "oci"))
    index = json.loads(files["index.json"])
    here = host_platform()
    entry = index["manifests"][0]
    foreign = {"mediaType": entry["mediaType"], "digest": "sha256:" + "e" * 64, "size": 10,
               "platform": {"os": "linux", "architecture": "s390x"}}
    entry["platform"] = here.to_json()
    index["manifests"] = [foreign, entry]  # the foreign blob is absent: must not be read
    two_images.remove("app:1")
    assert load(two_images, io.BytesIO(write_tar({**files, "index.json":
                                                  json.dumps(index).encode()}))) == \
        ["Loaded image: app:1"]
    index["manifests"] = [foreign]
    with pytest.raises(InvalidArgument, match=f"no image for platform {here}"):
        load(two_images, io.BytesIO(write_tar({**files,
                                               "index.json": json.dumps(index).encode()})))
