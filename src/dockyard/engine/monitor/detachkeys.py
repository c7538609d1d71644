"""Docker's detach keys: parsing ``--detach-keys`` and spotting the sequence in input."""

from __future__ import annotations

from dockyard.errors import InvalidArgument

__all__ = ["DEFAULT_DETACH_KEYS", "DetachFilter", "parse_detach_keys"]

DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q
_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(spec: str) -> bytes:
    """``ctrl-p,ctrl-q`` → ``b"\\x10\\x11"``; each key a single character or ``ctrl-<key>``.

    ``ctrl-`` takes a letter or one of ``@ [ \\ ] ^ _``. An empty spec means the default.
    """
    if spec == "":
        return DEFAULT_DETACH_KEYS
    out = bytearray()
    for key in spec.split(","):
        if len(key) == 1:
            if ord(key) > 127:
                raise InvalidArgument(f"invalid detach keys: {spec!r}: {key!r} is not ascii")
            out.append(ord(key))
            continue
        low = key.lower()
        name = low.removeprefix("ctrl-")
        if name == low or len(name) != 1:
            raise InvalidArgument(f"invalid detach keys: {spec!r}: unknown key {key!r}")
        if "a" <= name <= "z":
            out.append(ord(name) - ord("a") + 1)
        elif name in _SPECIAL:
            out.append(_SPECIAL[name])
        else:
            raise InvalidArgument(f"invalid detach keys: {spec!r}: unknown key {key!r}")
    return bytes(out)


class DetachFilter:
    """Passes input through, holding back bytes that may begin the detach sequence.

    ``feed`` returns the bytes to forward and whether the sequence was completed
    (the sequence itself is never forwarded; a broken prefix is forwarded late).
    """

    def __init__(self, keys: bytes = DEFAULT_DETACH_KEYS) -> None:
        self.keys = keys
        self.matched = 0

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        if not self.keys or (self.matched == 0 and self.keys[0] not in data):
            return data, False
        out = bytearray()
        keys = self.keys
        for b in data:
            if b == keys[self.matched]:
                self.matched += 1
                if self.matched == len(keys):
                    self.matched = 0
                    return bytes(out), True
                continue
            # Mismatch: keep the longest tail of what was held (plus this byte) that
            # still begins the sequence ("^C^C^C@" holds a match from its second byte).
            held = keys[:self.matched] + bytes((b,))
            shift = 1
            while shift < len(held) and not keys.startswith(held[shift:]):
                shift += 1
            out += held[:shift]
            self.matched = len(held) - shift
        return bytes(out), False
