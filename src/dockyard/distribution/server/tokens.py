"""Bearer-token auth as distribution's ``auth.token``: clients get a JWT from the token
service at ``realm`` and present it; we check its signature (RS256 or ES256 against the
service's public key), lifetime, audience (``service``) and issuer, and that its
``access`` claim grants the action the request needs."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidConfig

__all__ = ["Need", "TokenAuth"]

_LEEWAY = 60  # seconds of clock skew tolerated on exp/nbf


@dataclass(frozen=True)
class Need:
    """What a request needs: ``repository:<name>:<action>`` or ``registry:catalog:*``."""

    type: str
    name: str
    action: str

    @property
    def scope(self) -> str:
        actions = "pull,push" if self.action == "push" else self.action
        return f"{self.type}:{self.name}:{actions}"


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenAuth:
    def __init__(self, realm: str, service: str, issuer: str, key_file: Path) -> None:
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        if not realm.startswith(("http://", "https://")):
            raise InvalidConfig(f"--token-realm {realm!r}: want an http(s) url")
        self.realm, self.service, self.issuer = realm, service, issuer
        try:
            self.key = load_pem_public_key(key_file.read_bytes())
        except (OSError, ValueError) as err:
            raise InvalidConfig(f"{key_file}: not a PEM public key: {err}") from None

    def challenge(self, need: Need | None) -> str:
        out = f'Bearer realm="{self.realm}",service="{self.service}"'
        return out + (f',scope="{need.scope}"' if need else "")

    def _verify(self, token: str) -> dict[str, Any] | None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        try:
            head_b64, body_b64, sig_b64 = token.split(".")
            header = json.loads(_b64(head_b64))
            claims = json.loads(_b64(body_b64))
            sig = _b64(sig_b64)
        except ValueError:
            return None
        signed = f"{head_b64}.{body_b64}".encode()
        try:
            if header.get("alg") == "RS256" and isinstance(self.key, rsa.RSAPublicKey):
                self.key.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
            elif header.get("alg") == "ES256" and isinstance(
                    self.key, ec.EllipticCurvePublicKey) and len(sig) == 64:
                der = encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                           int.from_bytes(sig[32:], "big"))
                self.key.verify(der, signed, ec.ECDSA(hashes.SHA256()))
            else:
                return None
        except InvalidSignature:
            return None
        return claims if isinstance(claims, dict) else None

    def allows(self, header: str, need: Need | None) -> bool:
        """Whether ``Authorization: Bearer …`` grants ``need`` (any valid token when
        None, as for the ``/v2/`` ping)."""
        if not header.startswith("Bearer "):
            return False
        claims = self._verify(header[7:].strip())
        if claims is None:
            return False
        now = time.time()
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if (not isinstance(claims.get("exp"), (int, float)) or claims["exp"] + _LEEWAY < now
                or float(claims.get("nbf", 0)) - _LEEWAY > now
                or self.service not in auds
                or (self.issuer and claims.get("iss") != self.issuer)):
            return False
        if need is None:
            return True
        for grant in claims.get("access") or []:
            if (isinstance(grant, dict) and grant.get("type") == need.type
                    and grant.get("name") == need.name
                    and need.action in (grant.get("actions") or [])):
                return True
        return False
