"""Validation of OCI ``linux.resources.devices`` rules, shared by the v1 writer."""

from __future__ import annotations

from dockyard.errors import InvalidConfig

TYPE_CHECKING = False

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

__all__ = ["DeviceRule", "parse_device_rules"]

F = "linux.resources.devices"


class DeviceRule:
    """One rule: allow or deny ``access`` (of r, w, m) to a device class."""

    __slots__ = ("access", "allow", "major", "minor", "type")

    def __init__(self, allow: bool, type: str, major: int | None, minor: int | None,
                 access: str) -> None:
        self.allow = allow
        self.type = type  # a (all), c, b
        self.major = major  # None: any
        self.minor = minor
        self.access = access

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceRule) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[bool, str, int | None, int | None, str]:
        return (self.allow, self.type, self.major, self.minor, self.access)

    def __repr__(self) -> str:
        return f"DeviceRule{self._key()!r}"

    def line(self) -> str:
        """The rule as devices.allow/devices.deny text."""
        if self.type == "a":
            return "a"
        major = "*" if self.major is None else str(self.major)
        minor = "*" if self.minor is None else str(self.minor)
        return f"{self.type} {major}:{minor} {self.access}"


def _num(rule: Mapping[str, Any], key: str, where: str) -> int | None:
    v = rule.get(key)
    if v is None or v == -1:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InvalidConfig(f"{where}.{key}: must be a device number, got {v!r}")
    return v


def parse_device_rules(rules: object) -> list[DeviceRule]:
    """Check the rules' shape and values; InvalidConfig names the first bad one."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise InvalidConfig(f"{F}: must be a list")
    out = []
    for i, rule in enumerate(rules):
        where = f"{F}[{i}]"
        if not isinstance(rule, dict):
            raise InvalidConfig(f"{where}: must be an object")
        allow = rule.get("allow")
        if not isinstance(allow, bool):
            raise InvalidConfig(f"{where}.allow: must be true or false")
        kind = rule.get("type") or "a"
        if kind not in ("a", "c", "b"):
            raise InvalidConfig(f"{where}.type: must be a, c or b, got {kind!r}")
        access = rule.get("access") or "rwm"
        if not isinstance(access, str) or not access or set(access) - set("rwm"):
            raise InvalidConfig(f"{where}.access: must be letters of rwm, got {access!r}")
        major, minor = _num(rule, "major", where), _num(rule, "minor", where)
        if kind == "a" and (major is not None or minor is not None or access != "rwm"):
            out.append(DeviceRule(allow, "c", major, minor, access))
            out.append(DeviceRule(allow, "b", major, minor, access))
            continue
        out.append(DeviceRule(allow, kind, major, minor, access))
    return out
