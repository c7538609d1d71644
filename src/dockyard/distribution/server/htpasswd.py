"""Basic auth from an htpasswd file of bcrypt hashes (``htpasswd -B``), as
distribution's ``auth.htpasswd``. Verified credentials are remembered (by a hash of
the header) so bcrypt's deliberate slowness is paid once per client, not per request."""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from dockyard.errors import InvalidConfig

__all__ = ["Htpasswd", "verify"]

_BCRYPT = ("$2a$", "$2b$", "$2y$")
_REMEMBER = 1024


_MAX_PASSWORD = 72  # bcrypt's limit: htpasswd and Go's bcrypt use the first 72 bytes


def verify(password: str, hashed: str) -> bool:
    """Whether ``password`` matches bcrypt ``hashed`` ($2a$, $2b$ or $2y$, the one
    ``htpasswd -B`` writes); a malformed hash matches nothing."""
    import bcrypt

    try:
        return bcrypt.checkpw(password.encode()[:_MAX_PASSWORD], hashed.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False


class Htpasswd:
    """Users and bcrypt hashes read from ``path``; bad lines are errors naming them."""

    def __init__(self, path: Path) -> None:
        self.users: dict[str, str] = {}
        try:
            lines = path.read_text().splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidConfig(f"{path}: cannot read htpasswd file: {err}") from None
        for number, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, sep, hashed = line.partition(":")
            if not sep or not user or not hashed.startswith(_BCRYPT):
                raise InvalidConfig(f"{path}:{number}: want user:bcrypt-hash")
            self.users[user] = hashed
        if not self.users:
            raise InvalidConfig(f"{path}: no users")
        self._good: set[bytes] = set()

    def check(self, header: str) -> str | None:
        """The user named by a valid ``Authorization: Basic …`` header, else None."""
        if not header.startswith("Basic "):
            return None
        key = hashlib.sha256(header.encode()).digest()
        try:
            user, sep, password = base64.b64decode(header[6:], validate=True).decode(
                ).partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not sep or user not in self.users:
            return None
        if key in self._good:
            return user
        hashed = self.users[user]
        if not verify(password, hashed):
            return None
        if len(self._good) >= _REMEMBER:
            self._good.clear()
        self._good.add(key)
        return user
