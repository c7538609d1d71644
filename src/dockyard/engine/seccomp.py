"""``--security-opt seccomp=<profile>``: a Docker seccomp profile → OCI ``linux.seccomp``.

Docker's profile format adds ``archMap`` and per-rule ``includes``/``excludes``
(capabilities, architectures) to the OCI shape; dockerd evaluates them for the
container's capabilities and machine, and passes the rest through. We do the same.
"""

from __future__ import annotations

import json
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["from_docker_profile"]

_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "s390x": "s390x", "ppc64le": "ppc64le", "riscv64": "riscv64"}
_NATIVE = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64",
           "s390x": "SCMP_ARCH_S390X", "ppc64le": "SCMP_ARCH_PPC64LE",
           "riscv64": "SCMP_ARCH_RISCV64"}
_RULE_KEYS = ("names", "action", "errnoRet", "args")


def _matches(cond: dict[str, Any] | None, caps: set[str], arch: str, want: bool) -> bool:
    """Whether an includes (want=True) or excludes (want=False) block holds."""
    if not cond:
        return want
    arches = set(cond.get("arches") or [])
    needed = set(cond.get("caps") or [])
    if want:
        return (not arches or arch in arches or _GO_ARCH.get(arch) in arches) and \
            needed <= caps
    return bool(arches and (arch in arches or _GO_ARCH.get(arch) in arches)) or \
        bool(needed and needed & caps)


def from_docker_profile(text: str, capabilities: list[str], arch: str) -> dict[str, Any]:
    """The OCI seccomp section for ``capabilities`` on machine ``arch``."""
    try:
        profile = json.loads(text)
    except ValueError as err:
        raise InvalidArgument(f"decoding seccomp profile failed: {err}")
    if not isinstance(profile, dict) or "defaultAction" not in profile:
        raise InvalidArgument("seccomp profile: defaultAction: missing")
    caps = set(capabilities)
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    arches: list[str] = list(profile.get("architectures") or [])
    native = _NATIVE.get(arch)
    for entry in profile.get("archMap") or []:
        if native and entry.get("architecture") == native:
            arches = [native, *entry.get("subArchitectures", [])]
    if arches:
        out["architectures"] = arches
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    syscalls = []
    for i, rule in enumerate(profile.get("syscalls") or []):
        if not isinstance(rule, dict):
            raise InvalidArgument(f"seccomp profile: syscalls[{i}]: not an object")
        names = rule.get("names") or ([rule["name"]] if rule.get("name") else [])
        if not names or "action" not in rule:
            raise InvalidArgument(f"seccomp profile: syscalls[{i}]: names and action "
                                  "are required")
        if not _matches(rule.get("includes"), caps, arch, True):
            continue
        if _matches(rule.get("excludes"), caps, arch, False):
            continue
        kept = {k: rule[k] for k in _RULE_KEYS if k in rule and rule[k] not in (None, [])}
        kept["names"] = list(names)
        syscalls.append(kept)
    out["syscalls"] = syscalls
    return out
