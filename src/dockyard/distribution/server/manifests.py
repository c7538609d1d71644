"""Checks on a pushed manifest: well-formed JSON of a known kind, every referenced blob
or child manifest present, and the subject it names (for the referrers API)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dockyard.distribution.server.errors import RegistryError
from dockyard.errors import InvalidArgument
from dockyard.oci import Digest, mediatypes

__all__ = ["MAX_MANIFEST", "CheckedManifest", "check_manifest"]

MAX_MANIFEST = 4 << 20  # the spec's suggested limit
_NONDISTRIBUTABLE = ("nondistributable", "foreign")


@dataclass(frozen=True)
class CheckedManifest:
    media_type: str
    blobs: list[Digest]  # must exist as blobs in the repository
    children: list[Digest]  # must exist as manifests in the repository
    subject: Digest | None
    artifact_type: str
    annotations: dict[str, str]


def _invalid(detail: str) -> RegistryError:
    return RegistryError("MANIFEST_INVALID", detail)


def _descriptor(value: Any, where: str) -> Digest:
    if not isinstance(value, dict):
        raise _invalid(f"{where}: want a descriptor object")
    if not isinstance(value.get("mediaType"), str):
        raise _invalid(f"{where}.mediaType: want a string")
    size = value.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}.size: want a non-negative integer")
    try:
        return Digest.parse(value.get("digest"))  # type: ignore[arg-type]
    except InvalidArgument as err:
        raise _invalid(f"{where}.digest: {err}") from None


def _kind(doc: dict[str, Any], content_type: str) -> str:
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType: want a string")
    known = mediatypes.MANIFESTS | mediatypes.INDEXES
    if content_type in known:
        if declared and declared != content_type:
            raise _invalid(f"mediaType {declared!r} does not match content type "
                           f"{content_type!r}")
        return content_type
    if declared in known:
        return declared
    if "manifests" in doc:  # OCI documents may leave mediaType out
        return mediatypes.OCI_INDEX
    if "config" in doc:
        return mediatypes.OCI_MANIFEST
    raise _invalid(f"unsupported manifest media type {content_type or declared!r}")


def check_manifest(body: bytes, content_type: str) -> CheckedManifest:
    """Parse and check ``body``; errors are ``MANIFEST_INVALID`` naming the field."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise _invalid(f"not json: {err}") from None
    if not isinstance(doc, dict):
        raise _invalid("want a json object")
    if doc.get("schemaVersion") != 2:
        raise _invalid("schemaVersion: want 2")
    kind = _kind(doc, content_type.split(";")[0].strip())
    blobs: list[Digest] = []
    children: list[Digest] = []
    if kind in mediatypes.MANIFESTS:
        blobs.append(_descriptor(doc.get("config"), "config"))
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise _invalid("layers: want a list")
        for i, layer in enumerate(layers):
            d = _descriptor(layer, f"layers[{i}]")
            if not any(word in layer["mediaType"] for word in _NONDISTRIBUTABLE):
                blobs.append(d)
    else:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise _invalid("manifests: want a list")
        children = [_descriptor(m, f"manifests[{i}]") for i, m in enumerate(entries)]
    subject = None
    if doc.get("subject") is not None:
        subject = _descriptor(doc["subject"], "subject")
    artifact = doc.get("artifactType")
    if not isinstance(artifact, str):
        config = doc.get("config")
        artifact = config.get("mediaType", "") if isinstance(config, dict) else ""
    annotations = doc.get("annotations")
    if not isinstance(annotations, dict):
        annotations = {}
    return CheckedManifest(kind, blobs, children, subject, str(artifact), annotations)
