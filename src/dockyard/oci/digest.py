"""Content digests (``sha256:<64 hex>``; ``sha512:<128 hex>`` accepted), checked at parse."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["Digest", "Digester"]

_HEX_LEN = {"sha256": 64, "sha512": 128}
_HEX = re.compile(r"[a-f0-9]+")


@dataclass(frozen=True, order=True)
class Digest:
    """``algorithm:hex``; construct with :meth:`parse` or :meth:`of` so it is valid."""

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        want = _HEX_LEN.get(self.algorithm)
        if want is None:
            raise InvalidArgument(f"invalid digest {self}: unsupported algorithm "
                                  f"{self.algorithm!r}")
        if len(self.hex) != want or not _HEX.fullmatch(self.hex):
            raise InvalidArgument(f"invalid digest {self}: want {want} lower-case hex digits")

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @classmethod
    def parse(cls, text: str) -> Digest:
        """Parse ``alg:hex``; an error names the text."""
        if not isinstance(text, str) or ":" not in text:
            raise InvalidArgument(f"invalid digest {text!r}: want algorithm:hex")
        alg, _, hexpart = text.partition(":")
        return cls(alg, hexpart)

    @classmethod
    def of(cls, data: bytes, algorithm: str = "sha256") -> Digest:
        """The digest of ``data``."""
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    @property
    def short(self) -> str:
        """The first 12 hex digits, as docker shows ids."""
        return self.hex[:12]

    def digester(self) -> Digester:
        """A fresh hasher of this digest's algorithm."""
        return Digester(self.algorithm)


class Digester:
    """Incremental hashing that yields a :class:`Digest`."""

    def __init__(self, algorithm: str = "sha256") -> None:
        if algorithm not in _HEX_LEN:
            raise InvalidArgument(f"unsupported digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._h: Any = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes) -> None:
        self._h.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._h.hexdigest())
