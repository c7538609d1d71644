"""Validation of what arrives in URLs: repository names, tags, digests, upload ids."""

from __future__ import annotations

import re

from dockyard.distribution.server.errors import RegistryError
from dockyard.errors import InvalidArgument
from dockyard.oci import Digest

__all__ = ["MAX_NAME", "check_name", "check_tag", "check_upload_id", "parse_digest",
           "split_reference"]

MAX_NAME = 255
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
_UPLOAD = re.compile(r"[0-9a-f]{32}")


def check_name(name: str) -> str:
    """The repository name if it matches the spec's grammar (which rules out ``..``)."""
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise RegistryError("NAME_INVALID", f"invalid repository name {name[:300]!r}")
    return name


def check_tag(tag: str) -> str:
    if not _TAG.fullmatch(tag):
        raise RegistryError("MANIFEST_INVALID", f"invalid tag {tag[:200]!r}")
    return tag


def check_upload_id(upload: str) -> str:
    if not _UPLOAD.fullmatch(upload):
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", f"no such upload {upload[:100]!r}")
    return upload


def parse_digest(text: str) -> Digest:
    """A digest from a URL or query; a bad one is ``DIGEST_INVALID``."""
    try:
        return Digest.parse(text)
    except InvalidArgument as err:
        raise RegistryError("DIGEST_INVALID", str(err)) from None


def split_reference(ref: str) -> tuple[str, Digest | None]:
    """A manifest reference: ``(tag, None)`` or ``("", digest)``."""
    if ":" in ref:
        return "", parse_digest(ref)
    return check_tag(ref), None
