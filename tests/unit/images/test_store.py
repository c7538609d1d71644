"""ImageStore: resolve, tag, rmi, prune, gc, check, import, the default image."""

from __future__ import annotations

import datetime
import gzip
import io
import tarfile
from pathlib import Path

import pytest

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.images import ImageStore, check, import_rootfs
from dockyard.images.default import busybox_layer
from dockyard.oci import Digest
from dockyard.settings import Roots
from tests.unit.images.conftest import listing, make_tar
from tests.unit.images.schema import validate


def _import(store: ImageStore, files: dict[str, bytes], name: str = "",
            **kw: object) -> str:
    return str(import_rootfs(store, io.BytesIO(make_tar(files)), name, **kw).id)  # type: ignore[arg-type]


def test_import_records_a_valid_oci_image(store: ImageStore) -> None:
    iid = _import(store, {"hello": b"hi"}, "me/app:v1", changes=["CMD [\"cat\", \"/hello\"]",
                                                               "ENV A=1"], message="first")
    img = store.resolve("me/app:v1")
    assert str(img.id) == iid and img.repo_tags == ["me/app:v1"]
    assert img.config.config == {"Cmd": ["cat", "/hello"], "Env": ["A=1"]}
    raw_manifest = store.content.read(img.manifest_digest)
    validate("manifest", raw_manifest)
    validate("config", store.content.read(img.id))
    datetime.datetime.fromisoformat(img.config.created.replace("Z", "+00:00"))
    assert img.diff_ids == (img.manifest.layers[0].digest,)  # plain tar layer
    info = store.inspect(iid[7:19])
    assert info["Id"] == iid and info["Comment"] == "first"
    assert info["RootFS"] == {"Type": "layers", "Layers": [str(img.diff_ids[0])]}
    assert info["Config"]["Cmd"] == ["cat", "/hello"] and info["Config"]["Tty"] is False
    assert [r["Comment"] for r in store.history(iid)] == ["first"]


def _hardlink_tar(target: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("link")
        ti.type, ti.linkname = tarfile.LNKTYPE, target
        tf.addfile(ti)
    return buf.getvalue()


def test_compressed_import_gives_the_same_layer(store: ImageStore) -> None:
    files = {"a": b"1" * 1000}
    plain = import_rootfs(store, io.BytesIO(make_tar(files)))
    zipped = import_rootfs(store, io.BytesIO(gzip.compress(make_tar(files))))
    assert plain.diff_ids == zipped.diff_ids


@pytest.mark.parametrize(("data", "name", "changes", "match"), [
    (b"this is not a tar archive" * 40, "", [], "not a tar archive"),
    (b"", "", [], "not a tar archive"),
    (gzip.compress(b"not a tar either" * 100), "", [], "not a tar archive"),
    (gzip.compress(make_tar({"a": b"x" * 5000}))[:-40], "", [], "truncated gzip stream"),
    (make_tar({"a": b"x"}), "Bad:Name", [], "invalid reference format"),
    (make_tar({"../escape": b"x"}), "", [], "entry '../escape' leaves the root"),
    (make_tar({"a/../../escape": b"x"}), "", [], "leaves the root"),
    (make_tar({"/etc/passwd": b"x"}), "", [], "entry '/etc/passwd' is an absolute path"),
    (_hardlink_tar("../../etc/shadow"), "", [], "entry '../../etc/shadow' leaves the root"),
    (make_tar({"a": b"x"}), "ok", ["RUN x"], "unsupported instruction RUN"),
])
def test_bad_imports_leave_the_store_unchanged(store: ImageStore, roots: Roots, data: bytes,
                                               name: str, changes: list[str],
                                               match: str) -> None:
    _import(store, {"keep": b"me"}, "keep")
    before = listing(roots)
    with pytest.raises(InvalidArgument, match=match) as info:
        import_rootfs(store, io.BytesIO(data), name, changes=changes)
    assert "\n" not in str(info.value)
    assert listing(roots) == before


def test_resolve_by_every_kind_of_name(store: ImageStore) -> None:
    iid = _import(store, {"x": b"1"}, "localhost:5000/team/app:1.0")
    img = store.get(iid)
    for ref in ("localhost:5000/team/app:1.0", iid, iid[7:], iid[7:19], "sha256:" + iid[7:15],
                f"localhost:5000/team/app@{img.manifest_digest}",
                f"localhost:5000/team/app:other@{img.manifest_digest}"):
        assert str(store.resolve(ref).id) == iid, ref
    with pytest.raises(NotFound, match=r"no such image: localhost:5000/team/app:2.0"):
        store.resolve("localhost:5000/team/app:2.0")
    with pytest.raises(NotFound, match="no such image: abcdef0123"):
        store.resolve("abcdef0123" if not iid[7:].startswith("abcdef0123") else "0")
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        store.resolve("UPPER")


def test_ambiguous_id_prefix(store: ImageStore) -> None:
    ids = [_import(store, {"n": str(i).encode()}) for i in range(40)]
    firsts = [i[7] for i in ids]
    shared = next(c for c in firsts if firsts.count(c) > 1)
    with pytest.raises(InvalidArgument, match=f"ambiguous image id prefix: {shared}"):
        store.resolve(shared)


def test_default_image_is_built_once_and_deterministic(tmp_path: Path) -> None:
    a = ImageStore(Roots(tmp_path / "a", tmp_path / "ra"))
    b = ImageStore(Roots(tmp_path / "b", tmp_path / "rb"))
    img = a.resolve("busybox")
    assert img.repo_tags == ["busybox:latest"]
    assert b.resolve("docker.io/library/busybox:latest").id == img.id
    assert a.resolve("library/busybox").id == img.id and len(a.list()) == 1
    with pytest.raises(NotFound, match=r"no such image: busybox:1.36"):
        a.resolve("busybox:1.36")
    validate("config", a.content.read(img.id))
    validate("manifest", a.content.read(img.manifest_digest))
    with tarfile.open(fileobj=io.BytesIO(busybox_layer())) as tf:
        listed = [m.name.rstrip("/") for m in tf]
        members = {m.name.rstrip("/"): m for m in tf}
    assert len(listed) == len(set(listed))  # no path twice (docker load refuses that)
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    assert members["bin/sh"].issym() and members["bin/sh"].linkname == "/bin/busybox"
    assert members["etc/passwd"].isfile() and members["tmp"].mode == 0o1777
    assert {m.uid for m in members.values()} == {0} and {m.mtime for m in members.values()} == {0}
    assert img.config.config["Cmd"] == ["sh"]
    a.close()
    b.close()


def test_tag_and_rmi_untag_before_delete(store: ImageStore) -> None:
    iid = _import(store, {"x": b"1"}, "app:1")
    store.tag("app:1", "app:2")
    store.tag(iid, "other/app")
    assert sorted(store.get(iid).repo_tags) == ["app:1", "app:2", "other/app:latest"]
    assert store.remove("app:1") == [{"Untagged": "app:1"}]
    with pytest.raises(Conflict, match="referenced in multiple repositories"):
        store.remove(iid[7:19])
    out = store.remove(iid[7:19], force=True)
    assert {"Deleted": iid} in out and {"Untagged": "other/app:latest"} in out
    with pytest.raises(NotFound):
        store.get(iid)
    assert list(store.content.walk()) == []
    with pytest.raises(InvalidArgument, match="digest"):
        store.tag("busybox", f"x@sha256:{'a' * 64}")


def test_rmi_refuses_images_containers_use(roots: Roots) -> None:
    users: dict[str, list[tuple[str, bool]]] = {}
    store = ImageStore(roots, in_use=lambda i: users.get(i, []))
    iid = _import(store, {"x": b"1"}, "app")
    users[iid] = [("c" * 64, True)]
    with pytest.raises(Conflict, match=r"must force.*container cccccccccccc"):
        store.remove("app")
    with pytest.raises(Conflict, match=r"cannot be forced.*running container cccccccccccc"):
        store.remove(iid, force=True)
    assert store.remove("app", force=True) == [{"Untagged": "app:latest"}]
    assert store.get(iid).names == ()  # dangling but kept: a container uses it
    users[iid] = [("d" * 64, False)]
    with pytest.raises(Conflict, match=r"must be forced.*stopped container dddddddddddd"):
        store.remove(iid)
    store.remove(iid, force=True)
    with pytest.raises(NotFound):
        store.get(iid)
    store.close()


def test_prune_removes_exactly_what_nothing_references(roots: Roots) -> None:
    users: dict[str, list[tuple[str, bool]]] = {}
    store = ImageStore(roots, in_use=lambda i: users.get(i, []))
    base = make_tar({"shared": b"s" * 100})
    kept = str(import_rootfs(store, io.BytesIO(base), "kept").id)
    dangling = str(import_rootfs(store, io.BytesIO(base), "", message="other config").id)
    used = _import(store, {"u": b"1"})
    users[used] = [("e" * 64, False)]
    deleted, _ = store.prune()
    assert deleted == [{"Deleted": dangling}]
    assert {str(i.id) for i in store.list()} == {kept, used}
    # the layer both imports share stays: "kept" still holds it
    img = store.get(kept)
    assert all(store.content.exists(d.digest) for d in (img.manifest.config, *img.manifest.layers))
    assert not store.content.exists(Digest.parse(dangling))
    deleted, reclaimed = store.prune(all=True)
    assert {str(d.get("Deleted")) for d in deleted if "Deleted" in d} == {kept}
    assert reclaimed > 100
    assert [str(i.id) for i in store.list()] == [used]
    store.close()


def test_tags_move_between_images(store: ImageStore) -> None:
    first = _import(store, {"v": b"1"}, "app")
    second = _import(store, {"v": b"2"}, "app")
    assert store.get(first).names == () and store.resolve("app").id == Digest.parse(second)


def test_check_finds_and_repairs_corruption(store: ImageStore) -> None:
    iid = _import(store, {"x": b"1"}, "app")
    keep = _import(store, {"y": b"2"}, "keep")
    assert check(store).clean
    layer = store.get(iid).manifest.layers[0].digest
    path = store.content.path(layer)
    path.chmod(0o644)
    path.write_bytes(b"garbage")
    (store.content.ingest_dir / "left.999999999").write_bytes(b"partial")
    report = check(store)
    assert not report.clean
    assert f"blob {layer}: content does not match its digest" in report.problems
    cfg = store.content.path(Digest.parse(iid))
    cfg.chmod(0o644)
    saved = cfg.read_bytes()
    cfg.write_bytes(b"{not json")
    assert [str(i.id) for i in store.list()] == [keep] and store.unreadable == [iid]
    cfg.write_bytes(saved)
    assert any(p.startswith(f"image {iid}:") for p in report.problems)
    assert report.notes and not report.repaired
    fixed = check(store, repair=True)
    assert fixed.clean  # every problem found was fixed, and is listed as such
    assert f"blob {layer}: content does not match its digest: removed" in fixed.repaired
    assert any(r.startswith(f"image {iid}:") and r.endswith("image removed")
               for r in fixed.repaired)
    assert check(store).clean and not check(store).notes
    assert [str(i.id) for i in store.list()] == [keep]


def test_concurrent_processes_share_the_store(roots: Roots) -> None:
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_worker, args=(roots, n)) for n in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    store = ImageStore(roots)
    assert sorted(t for i in store.list() for t in i.repo_tags) == \
        [f"w{n}:{k}" for n in range(4) for k in range(5)]
    assert check(store).clean
    store.close()


def _worker(roots: Roots, n: int) -> None:
    store = ImageStore(roots)
    for k in range(5):
        _import(store, {"f": f"{n}-{k}".encode()}, f"w{n}:{k}")
        store.gc()  # a concurrent gc must not take blobs of another's import
    store.close()


def test_rmi_does_not_wait_for_a_writer_and_prune_collects_later(store: ImageStore,
                                                                 roots: Roots) -> None:
    iid = _import(store, {"x": b"1"}, "app")
    writer = ImageStore(roots)  # another "process" in the middle of a load
    with writer.writing():
        assert store.remove("app")[-1] == {"Deleted": iid}
        assert store.content.exists(Digest.parse(iid))  # gc skipped, not blocked
    writer.close()
    _, reclaimed = store.prune()
    assert reclaimed > 0 and list(store.content.walk()) == []


def test_repo_digests_from_a_pull_show_and_resolve(store: ImageStore) -> None:
    """What the registry client records: name@manifest-digest, as docker shows it."""
    plain = import_rootfs(store, io.BytesIO(make_tar({"p": b"1"})), "reg.io/team/app:1")
    img, _ = store.register(plain.manifest, ["reg.io/team/app:1"],
                            [f"reg.io/team/app@{plain.manifest_digest}"])
    assert img.inspect()["RepoDigests"] == [f"reg.io/team/app@{plain.manifest_digest}"]
    assert store.resolve(f"reg.io/team/app@{plain.manifest_digest}").id == plain.id
    store.remove("reg.io/team/app:1")  # the digest still names it
    assert store.get(plain.id).repo_digests
    out = store.remove(f"reg.io/team/app@{plain.manifest_digest}")
    assert out == [{"Untagged": f"reg.io/team/app@{plain.manifest_digest}"},
                   {"Deleted": str(plain.id)}]


def test_writing_is_reentrant_and_gc_refuses_inside_it(store: ImageStore, roots: Roots) -> None:
    other = ImageStore(roots)
    orphan = store.content.write(b"nothing references me")
    with store.writing():
        with store.writing():
            pass
        assert other.gc(wait=False) == 0  # the inner exit did not drop the outer hold
        assert store.content.exists(orphan)
        with pytest.raises(Conflict, match="gc: cannot run while this store is writing"):
            store.gc()
    assert other.gc(wait=False) > 0  # released at the outer exit: gc runs
    assert not store.content.exists(orphan)
    other.close()
