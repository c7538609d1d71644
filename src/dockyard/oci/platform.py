"""Platforms (os/architecture/variant) and matching an image to the host."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["Platform", "host_platform", "normalize_arch"]

_ARCH_ALIASES = {
    "x86_64": ("amd64", ""), "x86-64": ("amd64", ""), "amd64": ("amd64", ""),
    "aarch64": ("arm64", ""), "arm64": ("arm64", ""), "armhf": ("arm", "v7"),
    "armel": ("arm", "v6"), "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
    "i386": ("386", ""), "i686": ("386", ""), "386": ("386", ""),
}


def normalize_arch(arch: str, variant: str = "") -> tuple[str, str]:
    """Map kernel and Debian names onto OCI's (``x86_64`` → ``amd64``, ``aarch64`` →
    ``arm64``); arm64's ``v8`` variant is the default and dropped."""
    arch = arch.lower()
    norm, default_variant = _ARCH_ALIASES.get(arch, (arch, ""))
    variant = variant or default_variant
    if norm == "arm64" and variant == "v8":
        variant = ""
    return norm, variant


@dataclass(frozen=True)
class Platform:
    """The OCI ``platform`` object."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""
    os_features: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/amd64`` or ``linux/arm/v7``."""
        parts = text.split("/")
        if not 2 <= len(parts) <= 3 or not all(parts):
            raise InvalidArgument(f"invalid platform {text!r}: want os/arch[/variant]")
        arch, variant = normalize_arch(parts[1], parts[2] if len(parts) == 3 else "")
        return cls(parts[0].lower(), arch, variant)

    @classmethod
    def from_json(cls, data: Any, where: str = "platform") -> Platform:
        from dockyard.errors import InvalidConfig

        if not isinstance(data, dict):
            raise InvalidConfig(f"{where}: want an object")
        osname, arch = data.get("os"), data.get("architecture")
        if not isinstance(osname, str) or not isinstance(arch, str):
            raise InvalidConfig(f"{where}: os and architecture must be strings")
        feats = data.get("os.features") or ()
        return cls(osname, arch, str(data.get("variant") or ""),
                   str(data.get("os.version") or ""), tuple(str(f) for f in feats))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        if self.os_version:
            out["os.version"] = self.os_version
        if self.os_features:
            out["os.features"] = list(self.os_features)
        return out

    def matches(self, other: Platform) -> bool:
        """Whether an image built for ``other`` runs on ``self`` (variants compared when
        both name one)."""
        a, av = normalize_arch(self.architecture, self.variant)
        b, bv = normalize_arch(other.architecture, other.variant)
        return (self.os == other.os and a == b and (not av or not bv or av == bv))

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def host_platform() -> Platform:
    """The platform of this machine."""
    arch, variant = normalize_arch(os.uname().machine)
    return Platform("linux", arch, variant)
