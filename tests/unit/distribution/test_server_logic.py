"""The server's pure parts: URL routing, name and digest checks, paging, manifest
checks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.distribution.server.errors import CODES, RegistryError, error_body
from dockyard.distribution.server.manifests import check_manifest
from dockyard.distribution.server.names import check_name, split_reference
from dockyard.distribution.server.routes import paginate, route
from dockyard.oci import Digest

D = str(Digest.of(b"x"))


@pytest.mark.parametrize(("tail", "kind", "parts"), [
    ("", "ping", {}),
    ("_catalog", "catalog", {}),
    ("a/b/blobs/uploads/", "uploads", {"name": "a/b"}),
    ("a/blobs/uploads/abc", "upload", {"name": "a", "id": "abc"}),
    (f"a/blobs/{D}", "blob", {"name": "a", "ref": D}),
    ("a/manifests/v1", "manifest", {"name": "a", "ref": "v1"}),
    ("blobs/manifests/blobs/tags/list", "tags", {"name": "blobs/manifests/blobs"}),
    (f"x/referrers/{D}", "referrers", {"name": "x", "ref": D}),
])
def test_route(tail: str, kind: str, parts: dict[str, str]) -> None:
    assert route(tail) == (kind, parts)


def test_route_unknown() -> None:
    with pytest.raises(RegistryError) as err:
        route("a/whatever")
    assert err.value.code == "NAME_UNKNOWN" and err.value.status == 404


@given(st.from_regex(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*){0,3}",
                     fullmatch=True))
def test_valid_names(name: str) -> None:
    if len(name) <= 255:
        assert check_name(name) == name


@given(st.text(max_size=40))
def test_names_never_escape(name: str) -> None:
    try:
        check_name(name)
    except RegistryError as err:
        assert err.code == "NAME_INVALID"
        return
    parts = name.split("/")
    assert all(p and p not in (".", "..") and not p.startswith(("_", ".", "-"))
               for p in parts)


def test_split_reference() -> None:
    assert split_reference("v1.0") == ("v1.0", None)
    assert split_reference(D) == ("", Digest.parse(D))
    for bad, code in (("-x", "MANIFEST_INVALID"), ("sha256:zz", "DIGEST_INVALID"),
                      ("a" * 129, "MANIFEST_INVALID")):
        with pytest.raises(RegistryError) as err:
            split_reference(bad)
        assert err.value.code == code


def test_error_body_shape() -> None:
    for code in CODES:
        doc = json.loads(error_body(RegistryError(code, "why")))
        assert doc == {"errors": [{"code": code, "message": CODES[code][1],
                                   "detail": "why"}]}


@given(st.lists(st.from_regex(r"[a-z]{1,4}", fullmatch=True), unique=True),
       st.integers(1, 6))
def test_paging_walks_everything_once(items: list[str], n: int) -> None:
    items.sort()
    seen: list[str] = []
    query: dict[str, str] = {"n": str(n)}
    while True:
        page, link = paginate(items, query, "/u", None)
        assert len(page) <= n
        seen += page
        if link is None:
            break
        query = {"n": str(n), "last": page[-1]}
    assert seen == items


def test_check_manifest_artifact_type() -> None:
    doc = {"schemaVersion": 2,
           "config": {"mediaType": "application/x-cfg", "digest": D, "size": 1},
           "layers": [{"mediaType": "application/vnd.oci.image.layer."
                       "nondistributable.v1.tar", "digest": D, "size": 1}],
           "subject": {"mediaType": "m", "digest": D, "size": 3}}
    checked = check_manifest(json.dumps(doc).encode(), "")
    assert checked.artifact_type == "application/x-cfg"
    assert checked.blobs == [Digest.parse(D)]  # non-distributable layers are not required
    assert checked.subject == Digest.parse(D)
