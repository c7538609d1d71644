"""``registry serve --token-realm/--token-key``: bearer tokens (ES256 JWTs) from a
token service the test runs on loopback; our client, skopeo, and forged, expired or
narrow tokens."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dockyard.distribution import Auth, pull, push
from dockyard.distribution.server import TokenAuth
from dockyard.errors import Forbidden, InvalidConfig
from dockyard.images import ImageStore
from dockyard.oci import parse_reference
from dockyard.settings import Roots
from tests.integration.distribution.conftest import AppThread, RegistryThread
from tests.integration.distribution.test_token import four_layer_image

SERVICE, ISSUER = "dockyard-test", "test-issuer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(key: Any, claims: dict[str, Any], x5c: bytes = b"") -> str:
    """An ES256 JWT; ``x5c`` (a DER certificate) goes into the header, as
    distribution's token auth wants it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    header: dict[str, Any] = {"alg": "ES256", "typ": "JWT"}
    if x5c:
        header["x5c"] = [base64.b64encode(x5c).decode()]
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{head}.{body}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def claims(access: list[dict[str, Any]], life: float = 300) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": SERVICE, "sub": "test", "exp": now + int(life),
            "nbf": now - 10, "iat": now - 10, "jti": secrets.token_hex(8), "access": access}


class TokenService:
    """Grants pull to anyone, and pull/push/delete/catalog to alice:s3cret."""

    def __init__(self, key: Any, x5c: bytes = b"") -> None:
        self.key = key
        self.x5c = x5c

    def app(self) -> Any:
        from aiohttp import web

        async def token(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            user = ""
            if header.startswith("Basic "):
                name, _, pw = base64.b64decode(header[6:]).decode().partition(":")
                if (name, pw) != ("alice", "s3cret"):
                    return web.json_response({}, status=401)
                user = name
            access = []
            for scope in request.query.getall("scope", []):
                kind, _, rest = scope.partition(":")
                name, _, actions = rest.rpartition(":")
                granted = [a for a in actions.split(",") if a == "pull" or user]
                access.append({"type": kind, "name": name, "actions": granted})
            return web.json_response({"token": sign(self.key, claims(access), self.x5c)})

        app = web.Application()
        app.router.add_get("/token", token)
        return app


@pytest.fixture
def key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def guarded(tmp_path: Path, key: Any) -> Iterator[RegistryThread]:
    from cryptography.hazmat.primitives import serialization

    pem = tmp_path / "token.pub"
    pem.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    service = AppThread(TokenService(key).app())
    server = RegistryThread(tmp_path / "reg", tokens=TokenAuth(
        service.url + "/token", SERVICE, ISSUER, pem))
    try:
        yield server
    finally:
        server.close()
        service.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_challenges_and_bad_tokens(guarded: RegistryThread, key: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    r = guarded.call("GET", "/v2/")
    assert r.status == 401 and r.error_codes() == ["UNAUTHORIZED"]
    assert r.headers["WWW-Authenticate"].startswith('Bearer realm="http://127.0.0.1:')
    r = guarded.call("GET", "/v2/app/tags/list")
    assert r.headers["WWW-Authenticate"].endswith(
        f'service="{SERVICE}",scope="repository:app:pull"')
    r = guarded.call("POST", "/v2/app/blobs/uploads/")
    assert 'scope="repository:app:pull,push"' in r.headers["WWW-Authenticate"]
    assert list((guarded.root / "uploads").iterdir()) == []
    pull_app = [{"type": "repository", "name": "app", "actions": ["pull"]}]
    assert guarded.call("GET", "/v2/", headers=bearer(sign(key, claims([])))).status == 200
    other = ec.generate_private_key(ec.SECP256R1())
    wrong_aud = {**claims(pull_app), "aud": "elsewhere"}
    wrong_iss = {**claims(pull_app), "iss": "mallory"}
    for token in (sign(other, claims(pull_app)), sign(key, claims(pull_app, life=-3600)),
                  sign(key, wrong_aud), sign(key, wrong_iss), "not.a.jwt", "x"):
        assert guarded.call("GET", "/v2/", headers=bearer(token)).status == 401
    good = bearer(sign(key, claims(pull_app)))
    assert guarded.call("GET", "/v2/app/tags/list", headers=good).status == 404  # allowed
    assert guarded.call("GET", "/v2/other/tags/list", headers=good).status == 401
    assert guarded.call("POST", "/v2/app/blobs/uploads/", headers=good).status == 401
    assert guarded.call("GET", "/v2/_catalog", headers=good).status == 401
    catalog = [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    assert guarded.call("GET", "/v2/_catalog",
                        headers=bearer(sign(key, claims(catalog)))).status == 200


def test_client_through_token_service(guarded: RegistryThread, tmp_path: Path) -> None:
    ref = parse_reference(f"127.0.0.1:{guarded.port}/team/app:v1")
    with ImageStore(Roots(tmp_path / "a", tmp_path / "a-run")) as src, \
            ImageStore(Roots(tmp_path / "b", tmp_path / "b-run")) as dst:
        image = four_layer_image(src, "local/app:v1")
        with pytest.raises(Forbidden, match="authentication required"):
            asyncio.run(push(src, "local/app:v1", ref))
        asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret")))
        assert asyncio.run(pull(dst, ref)).id == image.id  # anonymous pull


@pytest.mark.peer
def test_skopeo_through_token_service(guarded: RegistryThread, tmp_path: Path,
                                      busybox_rootfs: Path) -> None:
    from tests.integration.distribution.layout import make_layout

    manifest = make_layout(busybox_rootfs, tmp_path / "src", "v1")
    target = f"docker://127.0.0.1:{guarded.port}/bb:v1"
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                    "--dest-creds", "alice:s3cret", f"oci:{tmp_path / 'src'}:v1", target],
                   check=True, capture_output=True, timeout=60)
    out = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", target],
                         check=True, capture_output=True, timeout=60).stdout
    assert out == manifest


def test_bad_token_config(tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text("nope")
    with pytest.raises(InvalidConfig, match="not a PEM public key"):
        TokenAuth("http://x/token", SERVICE, "", tmp_path / "k.pem")
    with pytest.raises(InvalidConfig, match="want an http"):
        TokenAuth("ftp://x", SERVICE, "", tmp_path / "k.pem")


def self_signed(key: Any) -> bytes:
    """A self-signed certificate (DER) for the token signing key."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "token-signer")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


@pytest.mark.peer
def test_our_client_against_distribution_token_auth(tmp_path: Path, key: Any) -> None:
    """distribution 2.8 with ``auth.token``: our client does the Docker Hub dance."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.integration.distribution.peers import start_distribution, stop

    der = self_signed(key)
    bundle = tmp_path / "signer.pem"
    bundle.write_bytes(x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM))
    service = AppThread(TokenService(key, der).app())
    extra = (f"auth:\n  token:\n    realm: {service.url}/token\n    service: {SERVICE}\n"
             f"    issuer: {ISSUER}\n    rootcertbundle: {bundle}\n")
    try:
        proc, host = start_distribution(tmp_path / "dist", extra=extra)
        try:
            ref = parse_reference(f"{host}/team/app:v1")
            with ImageStore(Roots(tmp_path / "a", tmp_path / "a-run")) as src, \
                    ImageStore(Roots(tmp_path / "b", tmp_path / "b-run")) as dst:
                image = four_layer_image(src, "local/app:v1")
                with pytest.raises(Forbidden, match="authentication required"):
                    asyncio.run(push(src, "local/app:v1", ref))
                asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret")))
                assert asyncio.run(pull(dst, ref)).id == image.id
        finally:
            stop(proc)
    finally:
        service.close()
