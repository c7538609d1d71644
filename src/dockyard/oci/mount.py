"""A mount, as snapshotters return it and the runtime spec lists it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Mount"]


@dataclass(frozen=True)
class Mount:
    """``mount -t type -o options source target``; the OCI runtime-spec mount shape."""

    type: str
    source: str
    target: str = ""
    options: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"destination": self.target, "type": self.type,
                               "source": self.source}
        if self.options:
            out["options"] = list(self.options)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mount:
        return cls(
            type=str(data.get("type", "")),
            source=str(data.get("source", "")),
            target=str(data.get("destination", "")),
            options=tuple(str(o) for o in data.get("options", ())),
        )
