"""Image manifests and indexes: OCI and Docker schema2 read, OCI written."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidConfig
from dockyard.oci import mediatypes as mt
from dockyard.oci.codec import dumps, loads
from dockyard.oci.descriptor import Descriptor, json_object
from dockyard.oci.platform import Platform

__all__ = ["Index", "Manifest", "parse_document"]


def _schema_version(obj: dict[str, Any], where: str) -> None:
    if obj.get("schemaVersion") != 2:
        raise InvalidConfig(f"{where}.schemaVersion: want 2, got {obj.get('schemaVersion')!r}")


def _annotations(obj: dict[str, Any], where: str) -> dict[str, str]:
    ann = obj.get("annotations") or {}
    if not isinstance(ann, dict) or not all(isinstance(v, str) for v in ann.values()):
        raise InvalidConfig(f"{where}.annotations: want a map of strings")
    return dict(ann)


@dataclass(frozen=True)
class Manifest:
    """An image manifest: one config and its layers, bottom first."""

    config: Descriptor
    layers: tuple[Descriptor, ...]
    media_type: str = mt.OCI_MANIFEST
    annotations: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any, where: str = "manifest") -> Manifest:
        obj = json_object(data, where)
        _schema_version(obj, where)
        media_type = obj.get("mediaType", mt.OCI_MANIFEST)
        if media_type not in mt.MANIFESTS:
            raise InvalidConfig(f"{where}.mediaType: unknown media type {media_type!r}")
        config = Descriptor.from_json(obj.get("config"), f"{where}.config")
        if not mt.is_config(config.media_type):
            raise InvalidConfig(f"{where}.config.mediaType: unknown media type "
                                f"{config.media_type!r} (not a container image)")
        raw_layers = obj.get("layers")
        if not isinstance(raw_layers, list):
            raise InvalidConfig(f"{where}.layers: want a list")
        layers = []
        for i, raw in enumerate(raw_layers):
            d = Descriptor.from_json(raw, f"{where}.layers[{i}]")
            if not mt.is_layer(d.media_type):
                raise InvalidConfig(f"{where}.layers[{i}].mediaType: unknown media type "
                                    f"{d.media_type!r}")
            layers.append(d)
        return cls(config, tuple(layers), media_type, _annotations(obj, where))

    def to_oci(self) -> Manifest:
        """The same manifest with OCI media types (blobs unchanged)."""
        def conv(d: Descriptor) -> Descriptor:
            return Descriptor(mt.to_oci(d.media_type), d.digest, d.size, d.annotations,
                              d.platform, d.urls, d.artifact_type)
        return Manifest(conv(self.config), tuple(conv(d) for d in self.layers),
                        mt.OCI_MANIFEST, self.annotations)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                               "config": self.config.to_json(),
                               "layers": [d.to_json() for d in self.layers]}
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        return out

    def to_bytes(self) -> bytes:
        return dumps(self.to_json())


@dataclass(frozen=True)
class Index:
    """An image index (or Docker manifest list): manifests by platform."""

    manifests: tuple[Descriptor, ...]
    media_type: str = mt.OCI_INDEX
    annotations: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, data: Any, where: str = "index") -> Index:
        obj = json_object(data, where)
        _schema_version(obj, where)
        media_type = obj.get("mediaType", mt.OCI_INDEX)
        if media_type not in mt.INDEXES:
            raise InvalidConfig(f"{where}.mediaType: unknown media type {media_type!r}")
        raw = obj.get("manifests")
        if not isinstance(raw, list):
            raise InvalidConfig(f"{where}.manifests: want a list")
        items = tuple(Descriptor.from_json(m, f"{where}.manifests[{i}]")
                      for i, m in enumerate(raw))
        return cls(items, media_type, _annotations(obj, where))

    def select(self, want: Platform) -> list[Descriptor]:
        """Image manifests (and nested indexes) for ``want``; entries without a
        platform count as matching."""
        return [d for d in self.manifests
                if (mt.is_manifest(d.media_type) or mt.is_index(d.media_type))
                and (d.platform is None or want.matches(d.platform))]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schemaVersion": 2, "mediaType": self.media_type,
                               "manifests": [d.to_json() for d in self.manifests]}
        if self.annotations:
            out["annotations"] = dict(sorted(self.annotations.items()))
        return out

    def to_bytes(self) -> bytes:
        return dumps(self.to_json())


def parse_document(data: bytes, where: str, media_type: str = "") -> Manifest | Index:
    """Parse a manifest or an index, telling them apart by media type or, failing that,
    by shape (OCI makes ``mediaType`` optional)."""
    obj = json_object(loads(data, where), where)
    kind = obj.get("mediaType") or media_type
    if not kind:
        kind = mt.OCI_INDEX if "manifests" in obj else mt.OCI_MANIFEST
    if kind in mt.INDEXES:
        return Index.from_json(obj, where)
    if kind in mt.MANIFESTS:
        return Manifest.from_json(obj, where)
    raise InvalidConfig(f"{where}.mediaType: unknown media type {kind!r}")
