"""Image references with Docker's normalisation.

``busybox`` → ``docker.io/library/busybox:latest``; ``host:5000/a/b:tag@sha256:…`` keeps
its registry. Errors say ``invalid reference format`` and name the reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digest

__all__ = ["DEFAULT_DOMAIN", "Reference", "parse_reference"]

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DOMAINS = {"index.docker.io", "registry-1.docker.io"}
_OFFICIAL = "library/"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN = re.compile(r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)"
                     r"(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*"
                     r"(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_HEX64 = re.compile(r"[a-f0-9]{64}")
MAX_NAME = 255


@dataclass(frozen=True)
class Reference:
    """A normalised reference: registry domain, repository path, tag and/or digest."""

    domain: str
    path: str
    tag: str = ""
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The short form Docker prints: ``busybox``, ``me/app``, ``host:5000/app``."""
        if self.domain == DEFAULT_DOMAIN:
            return self.path.removeprefix(_OFFICIAL)
        return self.name

    def familiar(self) -> str:
        """``busybox:latest``, ``me/app@sha256:…``."""
        return self.familiar_name + self._suffix()

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)

    def _suffix(self) -> str:
        out = f":{self.tag}" if self.tag else ""
        return out + (f"@{self.digest}" if self.digest else "")

    def __str__(self) -> str:
        return self.name + self._suffix()


def _bad(text: str, why: str = "") -> InvalidArgument:
    return InvalidArgument(f"invalid reference format: {text!r}" + (f": {why}" if why else ""))


def parse_reference(text: str, default_tag: str = "latest") -> Reference:
    """Parse and normalise; adds ``default_tag`` when neither tag nor digest is given
    (pass ``""`` to keep a bare name)."""
    if not isinstance(text, str) or not text:
        raise _bad(str(text), "empty")
    rest, digest = text, None
    if "@" in rest:
        rest, _, dtext = rest.partition("@")
        try:
            digest = Digest.parse(dtext)
        except InvalidArgument as err:
            raise _bad(text, str(err)) from None
    tag = ""
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        rest, tag = rest[:colon], rest[colon + 1:]
        if not _TAG.fullmatch(tag):
            raise _bad(text, f"invalid tag {tag!r}")
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, remainder
        if not _DOMAIN.fullmatch(domain):
            raise _bad(text, f"invalid registry {domain!r}")
        if domain in _LEGACY_DOMAINS:
            domain = DEFAULT_DOMAIN
    else:
        domain, path = DEFAULT_DOMAIN, rest
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = _OFFICIAL + path
    if path.lower() != path:
        raise _bad(text, "repository name must be lowercase")
    if not path or not all(_COMPONENT.fullmatch(c) for c in path.split("/")):
        raise _bad(text)
    if len(domain) + 1 + len(path) > MAX_NAME:
        raise _bad(text, f"repository name must not be more than {MAX_NAME} characters")
    if domain == DEFAULT_DOMAIN and _HEX64.fullmatch(path.removeprefix(_OFFICIAL)):
        raise _bad(text, "cannot use a 64-character hexadecimal string as a name")
    if not tag and digest is None:
        tag = default_tag
    return Reference(domain, path, tag, digest)
