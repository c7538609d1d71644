"""The OCI image configuration (Docker's image JSON is a superset we read as is)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument, InvalidConfig
from dockyard.oci.codec import dumps, loads
from dockyard.oci.descriptor import json_object
from dockyard.oci.digest import Digest

__all__ = ["History", "ImageConfig", "chain_ids"]


@dataclass(frozen=True)
class History:
    """One entry of the config's ``history``."""

    created: str = ""
    created_by: str = ""
    comment: str = ""
    author: str = ""
    empty_layer: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (("created", self.created), ("created_by", self.created_by),
                           ("author", self.author), ("comment", self.comment)):
            if value:
                out[key] = value
        if self.empty_layer:
            out["empty_layer"] = True
        return out


@dataclass(frozen=True)
class ImageConfig:
    """Architecture, os, runtime defaults (``config``), layer diff ids and history.

    ``config`` keeps Docker's capitalised keys (``Cmd``, ``Env``...). ``extra`` keeps
    fields this class does not model, so reading then writing loses nothing.
    """

    architecture: str
    os: str
    diff_ids: tuple[Digest, ...]
    config: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    author: str = ""
    variant: str = ""
    history: tuple[History, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, where: str = "config") -> ImageConfig:
        obj = json_object(data, where)
        arch, osname = obj.get("architecture"), obj.get("os")
        if not isinstance(arch, str) or not arch:
            raise InvalidConfig(f"{where}.architecture: want a non-empty string")
        if not isinstance(osname, str) or not osname:
            raise InvalidConfig(f"{where}.os: want a non-empty string")
        rootfs = json_object(obj.get("rootfs"), f"{where}.rootfs")
        if rootfs.get("type") != "layers":
            raise InvalidConfig(f"{where}.rootfs.type: want \"layers\"")
        raw_ids = rootfs.get("diff_ids")
        if not isinstance(raw_ids, list):
            raise InvalidConfig(f"{where}.rootfs.diff_ids: want a list")
        diff_ids = []
        for i, text in enumerate(raw_ids):
            try:
                diff_ids.append(Digest.parse(text))
            except InvalidArgument as err:
                raise InvalidConfig(f"{where}.rootfs.diff_ids[{i}]: {err}") from None
        run = obj.get("config")
        run = {} if run is None else run
        if not isinstance(run, dict):
            raise InvalidConfig(f"{where}.config: want an object")
        hist = []
        for i, h in enumerate(obj.get("history") or ()):
            if not isinstance(h, dict):
                raise InvalidConfig(f"{where}.history[{i}]: want an object")
            hist.append(History(str(h.get("created") or ""), str(h.get("created_by") or ""),
                                str(h.get("comment") or ""), str(h.get("author") or ""),
                                bool(h.get("empty_layer"))))
        known = {"architecture", "os", "rootfs", "config", "history", "created", "author",
                 "variant"}
        return cls(arch, osname, tuple(diff_ids), dict(run), str(obj.get("created") or ""),
                   str(obj.get("author") or ""), str(obj.get("variant") or ""), tuple(hist),
                   {k: v for k, v in obj.items() if k not in known})

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "config") -> ImageConfig:
        return cls.from_json(loads(data, where), where)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.author:
            out["author"] = self.author
        out["architecture"] = self.architecture
        if self.variant:
            out["variant"] = self.variant
        out["os"] = self.os
        out.update(self.extra)
        out["config"] = {k: v for k, v in self.config.items() if v not in (None, [], {}, "")}
        out["rootfs"] = {"type": "layers", "diff_ids": [str(d) for d in self.diff_ids]}
        if self.history:
            out["history"] = [h.to_json() for h in self.history]
        return out

    def to_bytes(self) -> bytes:
        return dumps(self.to_json())

    def chain_ids(self) -> list[Digest]:
        return chain_ids(self.diff_ids)


def chain_ids(diff_ids: tuple[Digest, ...] | list[Digest]) -> list[Digest]:
    """OCI chain ids: ``C0 = D0``, ``Cn = sha256(Cn-1 + " " + Dn)``."""
    out: list[Digest] = []
    for d in diff_ids:
        if not out:
            out.append(d)
        else:
            text = f"{out[-1]} {d}".encode()
            out.append(Digest("sha256", hashlib.sha256(text).hexdigest()))
    return out
