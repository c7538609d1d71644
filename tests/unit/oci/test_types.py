"""Digests, descriptors, manifests, indexes, configs, platforms: parse, check, write."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidArgument, InvalidConfig
from dockyard.oci import (
    Descriptor,
    Digest,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    chain_ids,
    mediatypes,
    normalize_arch,
    parse_document,
)

D1 = Digest.of(b"one")
D2 = Digest.of(b"two")


def test_digest_parse_and_of() -> None:
    d = Digest.parse("sha256:" + hashlib.sha256(b"x").hexdigest())
    assert d == Digest.of(b"x")
    assert str(d).startswith("sha256:") and d.short == d.hex[:12]
    assert Digest.of(b"x", "sha512").algorithm == "sha512"


@pytest.mark.parametrize("text", ["sha256", "sha256:" + "A" * 64, "sha256:" + "a" * 63,
                                  "md5:" + "a" * 32, "sha512:" + "a" * 64, ":", "",
                                  "sha256:" + "g" * 64])
def test_bad_digests(text: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid digest"):
        Digest.parse(text)


@given(st.binary())
def test_digest_text_round_trip(data: bytes) -> None:
    d = Digest.of(data)
    assert Digest.parse(str(d)) == d


def _manifest(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "schemaVersion": 2, "mediaType": mediatypes.DOCKER_MANIFEST,
        "config": {"mediaType": mediatypes.DOCKER_CONFIG, "digest": str(D1), "size": 3},
        "layers": [{"mediaType": mediatypes.DOCKER_LAYER, "digest": str(D2), "size": 3}],
    }
    doc.update(over)
    return doc


def test_docker_manifest_reads_and_writes_oci() -> None:
    m = parse_document(json.dumps(_manifest()).encode(), "manifest")
    assert isinstance(m, Manifest)
    oci = m.to_oci().to_json()
    assert oci["mediaType"] == mediatypes.OCI_MANIFEST
    assert oci["config"]["mediaType"] == mediatypes.OCI_CONFIG
    assert oci["layers"][0]["mediaType"] == mediatypes.OCI_LAYER_GZIP
    assert oci["layers"][0]["digest"] == str(D2)
    assert Manifest.from_json(oci) == m.to_oci()


@pytest.mark.parametrize(("doc", "where"), [
    (_manifest(mediaType="application/x-nope"), "manifest.mediaType: unknown media type"),
    (_manifest(schemaVersion=1), "schemaVersion"),
    (_manifest(layers=[{"mediaType": "text/plain", "digest": str(D2), "size": 1}]),
     "manifest.layers[0].mediaType: unknown media type"),
    (_manifest(layers=[{"mediaType": mediatypes.OCI_LAYER, "digest": "x", "size": 1}]),
     "manifest.layers[0].digest"),
    (_manifest(layers=[{"mediaType": mediatypes.OCI_LAYER, "digest": str(D2), "size": -1}]),
     "manifest.layers[0].size"),
    (_manifest(config={"mediaType": "application/x-art", "digest": str(D1), "size": 1}),
     "manifest.config.mediaType"),
    (_manifest(config=None), "manifest.config: want a json object"),
    (_manifest(layers="x"), "manifest.layers: want a list"),
])
def test_bad_manifests_name_the_field(doc: dict[str, object], where: str) -> None:
    with pytest.raises(InvalidConfig) as info:
        parse_document(json.dumps(doc).encode(), "manifest")
    assert where in str(info.value)


def test_not_json_and_unknown_kind() -> None:
    with pytest.raises(InvalidConfig, match=r"index\.json: not valid json"):
        parse_document(b"{", "index.json")
    with pytest.raises(InvalidConfig, match="unknown media type"):
        parse_document(b'{"schemaVersion":2,"mediaType":"a/b"}', "x")


def test_index_selects_platform() -> None:
    def entry(arch: str, variant: str = "") -> dict[str, object]:
        plat = {"os": "linux", "architecture": arch} | ({"variant": variant} if variant else {})
        return {"mediaType": mediatypes.OCI_MANIFEST, "digest": str(Digest.of(arch.encode())),
                "size": 1, "platform": plat}
    idx = parse_document(json.dumps({"schemaVersion": 2, "manifests": [
        entry("amd64"), entry("arm64", "v8"), entry("arm", "v7")]}).encode(), "index")
    assert isinstance(idx, Index)
    assert [d.platform.architecture for d in idx.select(Platform.parse("linux/amd64"))
            if d.platform] == ["amd64"]
    assert len(idx.select(Platform.parse("linux/aarch64"))) == 1
    assert len(idx.select(Platform.parse("linux/arm/v6"))) == 0
    assert Index.from_json(idx.to_json()) == idx


def test_platform_normalisation() -> None:
    assert normalize_arch("x86_64") == ("amd64", "")
    assert normalize_arch("aarch64", "v8") == ("arm64", "")
    assert str(Platform.parse("linux/armhf")) == "linux/arm/v7"
    with pytest.raises(InvalidArgument, match="invalid platform 'linux'"):
        Platform.parse("linux")


def test_config_round_trip_keeps_unknown_fields() -> None:
    raw = {"architecture": "amd64", "os": "linux", "container": "abc", "docker_version": "x",
           "config": {"Cmd": ["sh"], "Env": ["A=1"]},
           "rootfs": {"type": "layers", "diff_ids": [str(D1), str(D2)]},
           "history": [{"created_by": "x"}, {"created_by": "y", "empty_layer": True}]}
    cfg = ImageConfig.from_json(raw)
    assert cfg.diff_ids == (D1, D2) and cfg.history[1].empty_layer
    again = cfg.to_json()
    assert again["container"] == "abc" and again["config"]["Cmd"] == ["sh"]
    assert ImageConfig.from_json(again) == cfg


@pytest.mark.parametrize(("patch", "where"), [
    ({"architecture": ""}, "config.architecture"), ({"os": 3}, "config.os"),
    ({"rootfs": {"type": "x", "diff_ids": []}}, "config.rootfs.type"),
    ({"rootfs": {"type": "layers", "diff_ids": ["nope"]}}, "config.rootfs.diff_ids[0]"),
    ({"rootfs": None}, "config.rootfs"), ({"config": []}, "config.config"),
    ({"history": [1]}, "config.history[0]"),
])
def test_bad_configs(patch: dict[str, object], where: str) -> None:
    raw = {"architecture": "amd64", "os": "linux",
           "rootfs": {"type": "layers", "diff_ids": []}} | patch
    with pytest.raises(InvalidConfig) as info:
        ImageConfig.from_json(raw)
    assert str(info.value).startswith(where)


def test_chain_ids() -> None:
    ids = chain_ids([D1, D2])
    assert ids[0] == D1
    assert ids[1].hex == hashlib.sha256(f"{D1} {D2}".encode()).hexdigest()
    assert chain_ids([]) == []


def test_descriptor_round_trip() -> None:
    d = Descriptor(mediatypes.OCI_LAYER, D1, 5, {"a": "b"}, Platform("linux", "amd64"),
                   ("http://x",), "t/a")
    assert Descriptor.from_json(d.to_json()) == d


@given(st.sampled_from(["amd64", "x86_64", "arm64", "aarch64", "arm", "armhf", "386", "s390x"]),
       st.sampled_from(["", "v6", "v7", "v8"]))
def test_platform_text_round_trips_and_matches_itself(arch: str, variant: str) -> None:
    text = f"linux/{arch}" + (f"/{variant}" if variant else "")
    p = Platform.parse(text)
    assert Platform.parse(str(p)) == p
    assert p.matches(p)
    assert p.matches(Platform("linux", p.architecture))  # no variant named: compatible
    assert not p.matches(Platform("windows", p.architecture, p.variant))
