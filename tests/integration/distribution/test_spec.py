"""Distribution spec 1.1 behaviours of ``dockyard registry serve``, one by one, through
aiohttp's client against the real server on loopback."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.integration.distribution.conftest import RegistryThread

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(reg: RegistryThread, name: str, data: bytes) -> str:
    d = sha256(data)
    r = reg.call("POST", f"/v2/{name}/blobs/uploads/?digest={d}", data,
                 {"Content-Type": "application/octet-stream"})
    assert r.status == 201, r.body
    return d


def image_manifest(reg: RegistryThread, name: str, layer: bytes = b"layer",
                   subject: dict[str, object] | None = None,
                   artifact_type: str = "") -> bytes:
    config = b"{}"
    doc: dict[str, object] = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": push_blob(reg, name, config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": push_blob(reg, name, layer), "size": len(layer)}],
    }
    if subject:
        doc["subject"] = subject
    if artifact_type:
        doc["artifactType"] = artifact_type
    return json.dumps(doc).encode()


def put_manifest(reg: RegistryThread, name: str, ref: str, body: bytes,
                 media_type: str = OCI_MANIFEST) -> object:
    return reg.call("PUT", f"/v2/{name}/manifests/{ref}", body, {"Content-Type": media_type})


def store_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


# Base.
def test_ping(registry: RegistryThread) -> None:
    r = registry.call("GET", "/v2/")
    assert r.status == 200
    assert r.headers["Docker-Distribution-API-Version"] == "registry/2.0"


# Pull: blobs.
def test_blob_get_head_and_range(registry: RegistryThread) -> None:
    data = os.urandom(100_000)
    d = push_blob(registry, "a/b", data)
    got = registry.call("GET", f"/v2/a/b/blobs/{d}")
    assert got.status == 200 and got.body == data
    assert got.headers["Docker-Content-Digest"] == d
    head = registry.call("HEAD", f"/v2/a/b/blobs/{d}")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(data))
    part = registry.call("GET", f"/v2/a/b/blobs/{d}", headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.body == data[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    bad = registry.call("GET", f"/v2/a/b/blobs/{d}", headers={"Range": "bytes=200000-"})
    assert bad.status == 416


def test_blob_unknown_and_other_repo(registry: RegistryThread) -> None:
    d = push_blob(registry, "one", b"x")
    for path in ("/v2/two/blobs/" + d, "/v2/one/blobs/" + sha256(b"y")):
        r = registry.call("GET", path)
        assert r.status == 404 and r.error_codes() == ["BLOB_UNKNOWN"]
        assert registry.call("HEAD", path).status == 404


def test_blob_sha512(registry: RegistryThread) -> None:
    data = b"sha512 content"
    d = "sha512:" + hashlib.sha512(data).hexdigest()
    r = registry.call("POST", f"/v2/x/blobs/uploads/?digest={d}", data)
    assert r.status == 201 and r.headers["Docker-Content-Digest"] == d
    assert registry.call("GET", f"/v2/x/blobs/{d}").body == data


# Push: uploads.
def test_post_then_put_monolithic(registry: RegistryThread) -> None:
    r = registry.call("POST", "/v2/r/blobs/uploads/")
    assert r.status == 202
    loc, uuid = r.headers["Location"], r.headers["Docker-Upload-UUID"]
    assert loc.endswith(uuid)
    data = b"hello" * 1000
    put = registry.call("PUT", f"{loc}?digest={sha256(data)}", data,
                        {"Content-Type": "application/octet-stream"})
    assert put.status == 201
    assert put.headers["Location"] == f"/v2/r/blobs/{sha256(data)}"
    assert registry.call("GET", put.headers["Location"]).body == data


def test_chunked_upload_and_status(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    data = os.urandom(3000)
    for start in range(0, 3000, 1000):
        chunk = data[start:start + 1000]
        r = registry.call("PATCH", loc, chunk, {
            "Content-Range": f"{start}-{start + 999}", "Content-Type":
            "application/octet-stream"})
        assert r.status == 202, r.body
        assert r.headers["Range"] == f"0-{start + 999}"
        loc = r.headers["Location"]
    status = registry.call("GET", loc)
    assert status.status == 204 and status.headers["Range"] == "0-2999"
    done = registry.call("PUT", f"{loc}?digest={sha256(data)}")
    assert done.status == 201
    assert registry.call("GET", f"/v2/r/blobs/{sha256(data)}").body == data


def test_out_of_order_chunk_is_416(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    assert registry.call("PATCH", loc, b"a" * 10, {"Content-Range": "0-9"}).status == 202
    r = registry.call("PATCH", loc, b"b" * 10, {"Content-Range": "20-29"})
    assert r.status == 416
    assert registry.call("GET", loc).headers["Range"] == "0-9"  # upload unchanged
    again = registry.call("PATCH", loc, b"b" * 10, {"Content-Range": "10-19"})
    assert again.status == 202 and again.headers["Range"] == "0-19"


def test_streamed_patch_without_range(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    registry.call("PATCH", loc, b"abc")
    registry.call("PATCH", loc, b"def")
    r = registry.call("PUT", f"{loc}?digest={sha256(b'abcdefghi')}", b"ghi")
    assert r.status == 201


def test_digest_mismatch_stores_nothing(registry: RegistryThread) -> None:
    before = store_files(registry.root / "blobs")
    r = registry.call("POST", f"/v2/r/blobs/uploads/?digest={sha256(b'other')}", b"data")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    loc = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    r = registry.call("PUT", f"{loc}?digest={sha256(b'other')}", b"data")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    assert store_files(registry.root / "blobs") == before
    assert registry.call("GET", loc).status == 404  # the failed session is gone
    assert list((registry.root / "uploads").iterdir()) == []


@pytest.mark.parametrize("digest", ["sha256:xyz", "md5:" + "0" * 32, "nocolon", "sha256:" +
                                    "A" * 64])
def test_bad_digest_is_digest_invalid(registry: RegistryThread, digest: str) -> None:
    r = registry.call("POST", f"/v2/r/blobs/uploads/?digest={digest}", b"x")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    r = registry.call("GET", f"/v2/r/blobs/{digest}")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]


def test_put_without_digest(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    r = registry.call("PUT", loc, b"x")
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]


def test_unknown_upload(registry: RegistryThread) -> None:
    for uid in ("0" * 32, "nothex", "..%2e"):
        r = registry.call("PATCH", f"/v2/r/blobs/uploads/{uid}", b"x")
        assert r.status == 404 and r.error_codes() == ["BLOB_UPLOAD_UNKNOWN"]
    # an encoded slash makes the path no endpoint at all
    r = registry.call("PATCH", "/v2/r/blobs/uploads/..%2F..%2Fblobs", b"x")
    assert r.status == 404 and r.error_codes() == ["NAME_UNKNOWN"]


def test_upload_belongs_to_its_repository(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/mine/blobs/uploads/").headers["Location"]
    other = loc.replace("/v2/mine/", "/v2/theirs/")
    assert registry.call("GET", other).error_codes() == ["BLOB_UPLOAD_UNKNOWN"]


def test_cancel_upload(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    assert registry.call("DELETE", loc).status == 204
    assert registry.call("GET", loc).status == 404


def test_size_mismatch_truncated_body(registry: RegistryThread) -> None:
    loc = registry.call("POST", "/v2/r/blobs/uploads/").headers["Location"]
    r = registry.call("PATCH", loc, b"12345", {"Content-Range": "0-9"})
    assert r.status == 416
    assert registry.call("GET", loc).headers["Range"] == "0-0"


def test_cross_repo_mount(registry: RegistryThread) -> None:
    d = push_blob(registry, "src", b"shared")
    r = registry.call("POST", f"/v2/dst/blobs/uploads/?mount={d}&from=src")
    assert r.status == 201 and r.headers["Location"] == f"/v2/dst/blobs/{d}"
    assert registry.call("GET", f"/v2/dst/blobs/{d}").body == b"shared"
    # a blob the source does not hold: an ordinary upload session instead
    r = registry.call("POST", f"/v2/dst/blobs/uploads/?mount={sha256(b'no')}&from=src")
    assert r.status == 202 and "Docker-Upload-UUID" in r.headers


def test_blob_delete(registry: RegistryThread) -> None:
    d = push_blob(registry, "r", b"gone")
    assert registry.call("DELETE", f"/v2/r/blobs/{d}").status == 202
    assert registry.call("GET", f"/v2/r/blobs/{d}").status == 404
    assert registry.call("DELETE", f"/v2/r/blobs/{d}").error_codes() == ["BLOB_UNKNOWN"]


# Manifests.
def test_manifest_put_get_by_tag_and_digest(registry: RegistryThread) -> None:
    body = image_manifest(registry, "app")
    r = put_manifest(registry, "app", "v1", body)
    assert r.status == 201
    d = sha256(body)
    assert r.headers["Docker-Content-Digest"] == d
    assert r.headers["Location"] == f"/v2/app/manifests/{d}"
    for ref in ("v1", d):
        got = registry.call("GET", f"/v2/app/manifests/{ref}",
                            headers={"Accept": OCI_MANIFEST})
        assert got.status == 200 and got.body == body
        assert got.headers["Content-Type"] == OCI_MANIFEST
        assert got.headers["Docker-Content-Digest"] == d
        head = registry.call("HEAD", f"/v2/app/manifests/{ref}")
        assert head.status == 200 and head.headers["Content-Length"] == str(len(body))


def test_manifest_content_type_kept(registry: RegistryThread) -> None:
    docker = "application/vnd.docker.distribution.manifest.v2+json"
    doc = json.loads(image_manifest(registry, "app"))
    doc["mediaType"] = docker
    doc["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    body = json.dumps(doc, indent=3).encode()
    assert put_manifest(registry, "app", "d", body, docker).status == 201
    got = registry.call("GET", "/v2/app/manifests/d")
    assert got.headers["Content-Type"] == docker and got.body == body


def test_manifest_by_digest_must_match(registry: RegistryThread) -> None:
    body = image_manifest(registry, "app")
    r = put_manifest(registry, "app", sha256(b"other"), body)
    assert r.status == 400 and r.error_codes() == ["DIGEST_INVALID"]
    assert put_manifest(registry, "app", sha256(body), body).status == 201


def test_manifest_missing_blob(registry: RegistryThread) -> None:
    doc = json.loads(image_manifest(registry, "app"))
    doc["layers"][0]["digest"] = sha256(b"never pushed")
    r = put_manifest(registry, "app", "t", json.dumps(doc).encode())
    assert r.status == 404 and r.error_codes() == ["MANIFEST_BLOB_UNKNOWN"]
    assert registry.call("GET", "/v2/app/manifests/t").error_codes() == ["MANIFEST_UNKNOWN"]


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"schemaVersion": 1}',
    b'{"schemaVersion": 2, "mediaType": "' + OCI_MANIFEST.encode() + b'", "layers": []}',
    b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:00", "size": 1},'
    b' "layers": []}',
    b'{"schemaVersion": 2, "config": {"mediaType": "x", "digest": "sha256:' + b"0" * 64 +
    b'", "size": -1}, "layers": []}',
    b'{"schemaVersion": 2, "mediaType": "' + OCI_INDEX.encode() + b'", "manifests": 3}',
    b'{"schemaVersion": 2}',
])
def test_malformed_manifest(registry: RegistryThread, body: bytes) -> None:
    r = put_manifest(registry, "app", "bad", body)
    assert r.status == 400 and r.error_codes() == ["MANIFEST_INVALID"], r.body
    assert not (registry.root / "repos" / "app" / "_tags").exists()


def test_manifest_media_type_mismatch(registry: RegistryThread) -> None:
    body = image_manifest(registry, "app")
    r = put_manifest(registry, "app", "t", body, OCI_INDEX)
    assert r.status == 400 and r.error_codes() == ["MANIFEST_INVALID"]


def test_manifest_too_big(registry: RegistryThread) -> None:
    r = put_manifest(registry, "app", "t", b" " * (4 << 20 | 1))
    assert r.status == 413 and r.error_codes() == ["SIZE_INVALID"]


def test_index_needs_its_children(registry: RegistryThread) -> None:
    child = image_manifest(registry, "app")
    desc = {"mediaType": OCI_MANIFEST, "digest": sha256(child), "size": len(child)}
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": [desc]}).encode()
    r = put_manifest(registry, "app", "multi", index, OCI_INDEX)
    assert r.error_codes() == ["MANIFEST_BLOB_UNKNOWN"]
    put_manifest(registry, "app", sha256(child), child)
    assert put_manifest(registry, "app", "multi", index, OCI_INDEX).status == 201
    assert registry.call("GET", "/v2/app/manifests/multi").headers["Content-Type"] == OCI_INDEX


def test_manifest_delete(registry: RegistryThread) -> None:
    body = image_manifest(registry, "app")
    put_manifest(registry, "app", "v1", body)
    put_manifest(registry, "app", "v2", body)
    assert registry.call("DELETE", "/v2/app/manifests/v2").status == 202
    assert registry.call("GET", "/v2/app/manifests/v2").status == 404
    assert registry.call("GET", "/v2/app/manifests/v1").status == 200
    assert registry.call("DELETE", f"/v2/app/manifests/{sha256(body)}").status == 202
    for ref in ("v1", sha256(body)):
        r = registry.call("GET", f"/v2/app/manifests/{ref}")
        assert r.status == 404 and r.error_codes() == ["MANIFEST_UNKNOWN"]
    r = registry.call("DELETE", f"/v2/app/manifests/{sha256(body)}")
    assert r.error_codes() == ["MANIFEST_UNKNOWN"]


def test_manifest_unknown(registry: RegistryThread) -> None:
    r = registry.call("GET", "/v2/app/manifests/nope")
    assert r.status == 404 and r.error_codes() == ["MANIFEST_UNKNOWN"]


# Names.
@pytest.mark.parametrize("name", ["UPPER", "a/../b", "..", "a//b", "-a", "a_", "_x",
                                  "x/_tags", "a" * 256, "%2e%2e/x"])
def test_invalid_names(registry: RegistryThread, name: str) -> None:
    r = registry.call("GET", f"/v2/{name}/tags/list")
    assert r.status == 400 and r.error_codes() == ["NAME_INVALID"]
    r = registry.call("POST", f"/v2/{name}/blobs/uploads/")
    assert r.status == 400 and r.error_codes() == ["NAME_INVALID"]
    assert list((registry.root / "uploads").iterdir()) == []


def test_traversal_cannot_escape(registry: RegistryThread, tmp_path: Path) -> None:
    r = registry.call("POST", "/v2/a/%2e%2e/%2e%2e/%2e%2e/escape/blobs/uploads/")
    assert r.status == 400 and r.error_codes() == ["NAME_INVALID"]
    r = registry.call("GET", "/elsewhere")
    assert r.status == 404 and r.error_codes() == ["NAME_UNKNOWN"]
    assert not (tmp_path / "escape").exists()
    assert list((registry.root / "uploads").iterdir()) == []


# Discovery.
def test_tags_list_paging(registry: RegistryThread) -> None:
    body = image_manifest(registry, "app")
    tags = sorted(f"t{i:02d}" for i in range(7))
    for t in tags:
        put_manifest(registry, "app", t, body)
    r = registry.call("GET", "/v2/app/tags/list")
    assert r.json() == {"name": "app", "tags": tags}
    r = registry.call("GET", "/v2/app/tags/list?n=3")
    assert r.json()["tags"] == tags[:3]
    assert r.headers["Link"] == '</v2/app/tags/list?n=3&last=t02>; rel="next"'
    r = registry.call("GET", "/v2/app/tags/list?n=3&last=t05")
    assert r.json()["tags"] == tags[6:] and "Link" not in r.headers
    assert registry.call("GET", "/v2/app/tags/list?n=0").json()["tags"] == []


def test_tags_unknown_repository(registry: RegistryThread) -> None:
    r = registry.call("GET", "/v2/nobody/tags/list")
    assert r.status == 404 and r.error_codes() == ["NAME_UNKNOWN"]


@pytest.mark.parametrize("n", ["-1", "abc", "99999999999999999999"])
def test_bad_n(registry: RegistryThread, n: str) -> None:
    r = registry.call("GET", f"/v2/_catalog?n={n}")
    assert r.status == 400 and r.error_codes() == ["PAGINATION_NUMBER_INVALID"]


def test_catalog_with_hard_cap(registry: RegistryThread) -> None:
    for name in ("b", "a/x", "c"):
        put_manifest(registry, name, "t", image_manifest(registry, name))
    assert registry.call("GET", "/v2/_catalog").json() == {"repositories": ["a/x", "b", "c"]}
    r = registry.call("GET", "/v2/_catalog?n=1&last=a/x")
    assert r.json() == {"repositories": ["b"]} and "last=b" in r.headers["Link"]
    huge = registry.call("GET", "/v2/_catalog?n=100000000")
    assert huge.status == 400 and huge.error_codes() == ["PAGINATION_NUMBER_INVALID"]


# Referrers.
def test_referrers_and_subject_header(registry: RegistryThread) -> None:
    subject_body = image_manifest(registry, "app")
    put_manifest(registry, "app", "v1", subject_body)
    subject = {"mediaType": OCI_MANIFEST, "digest": sha256(subject_body),
               "size": len(subject_body)}
    sig = image_manifest(registry, "app", b"sig", subject, "application/x-signature")
    sbom = image_manifest(registry, "app", b"sbom", subject, "application/x-sbom")
    for body in (sig, sbom):
        r = put_manifest(registry, "app", sha256(body), body)
        assert r.status == 201 and r.headers["OCI-Subject"] == sha256(subject_body)
    r = registry.call("GET", f"/v2/app/referrers/{sha256(subject_body)}")
    assert r.status == 200 and r.headers["Content-Type"].startswith(OCI_INDEX)
    found = {m["digest"]: m for m in r.json()["manifests"]}
    assert set(found) == {sha256(sig), sha256(sbom)}
    assert found[sha256(sig)]["artifactType"] == "application/x-signature"
    assert found[sha256(sig)]["size"] == len(sig)
    r = registry.call("GET", f"/v2/app/referrers/{sha256(subject_body)}"
                      "?artifactType=application/x-sbom")
    assert [m["digest"] for m in r.json()["manifests"]] == [sha256(sbom)]
    assert r.headers["OCI-Filters-Applied"] == "artifactType"
    registry.call("DELETE", f"/v2/app/manifests/{sha256(sig)}")
    r = registry.call("GET", f"/v2/app/referrers/{sha256(subject_body)}")
    assert [m["digest"] for m in r.json()["manifests"]] == [sha256(sbom)]
    none = registry.call("GET", f"/v2/app/referrers/{sha256(b'nothing')}")
    assert none.status == 200 and none.json()["manifests"] == []


def test_read_only(tmp_path: Path) -> None:
    server = RegistryThread(tmp_path / "ro", read_only=True)
    try:
        r = server.call("POST", "/v2/r/blobs/uploads/")
        assert r.status == 405 and r.error_codes() == ["UNSUPPORTED"]
        assert server.call("GET", "/v2/").status == 200
    finally:
        server.close()


def test_unsupported_method(registry: RegistryThread) -> None:
    r = registry.call("POST", "/v2/app/tags/list")
    assert r.status == 405 and r.error_codes() == ["UNSUPPORTED"]
