"""``registry serve --tls-cert/--tls-key``: https that skopeo verifies against the
test's own CA file; plain http is refused; a bad key pair is a clear error."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.distribution.server import tls_context
from dockyard.errors import InvalidArgument
from tests.integration.distribution.conftest import RegistryThread
from tests.integration.distribution.layout import make_layout


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(crt), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True,
                   capture_output=True, timeout=60)
    return crt, key


@pytest.fixture
def tls_registry(tmp_path: Path, cert: tuple[Path, Path]) -> Iterator[RegistryThread]:
    server = RegistryThread(tmp_path / "reg", tls=cert)
    try:
        yield server
    finally:
        server.close()


async def _get(url: str, ctx: ssl.SSLContext | bool) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as s, s.get(url, ssl=ctx) as r:
        return r.status


def test_https_only(tls_registry: RegistryThread, cert: tuple[Path, Path]) -> None:
    ctx = ssl.create_default_context(cafile=str(cert[0]))
    assert asyncio.run(_get(f"https://127.0.0.1:{tls_registry.port}/v2/", ctx)) == 200
    import aiohttp

    with pytest.raises(aiohttp.ClientError):  # plain http gets no http answer
        asyncio.run(_get(f"http://127.0.0.1:{tls_registry.port}/v2/", False))
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        asyncio.run(_get(f"https://127.0.0.1:{tls_registry.port}/v2/",
                         ssl.create_default_context()))


@pytest.mark.peer
def test_skopeo_verifies_our_certificate(tls_registry: RegistryThread,
                                         cert: tuple[Path, Path], tmp_path: Path,
                                         busybox_rootfs: Path) -> None:
    manifest = make_layout(busybox_rootfs, tmp_path / "src", "v1")
    certs = tmp_path / "certs.d"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(cert[0].read_bytes())
    subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-cert-dir", str(certs),
                    f"oci:{tmp_path / 'src'}:v1",
                    f"docker://127.0.0.1:{tls_registry.port}/secure:v1"],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.create_default_context(cafile=str(cert[0]))

    async def fetch() -> bytes:
        import aiohttp

        async with aiohttp.ClientSession() as s, s.get(
                f"https://127.0.0.1:{tls_registry.port}/v2/secure/manifests/v1",
                ssl=ctx) as r:
            return await r.read()

    assert asyncio.run(fetch()) == manifest


def test_bad_key_pair(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(InvalidArgument, match=r"--tls-cert .* / --tls-key .*junk\.pem"):
        tls_context(cert[0], tmp_path / "junk.pem")


def test_client_tries_https_first_on_loopback(tls_registry: RegistryThread, tmp_path: Path,
                                             busybox_rootfs: Path) -> None:
    """Docker's rule for insecure registries: https without verification, then http."""
    import io
    import tarfile

    from dockyard.distribution import list_tags, pull, push
    from dockyard.images import ImageStore, import_rootfs
    from dockyard.oci import parse_reference
    from dockyard.settings import Roots

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(busybox_rootfs, arcname=".")
    buf.seek(0)
    ref = parse_reference(f"127.0.0.1:{tls_registry.port}/app:v1")
    with ImageStore(Roots(tmp_path / "a", tmp_path / "a-run")) as src, \
            ImageStore(Roots(tmp_path / "b", tmp_path / "b-run")) as dst:
        image = import_rootfs(src, buf, "local/app:v1")
        asyncio.run(push(src, "local/app:v1", ref))
        assert asyncio.run(pull(dst, ref)).id == image.id
        assert asyncio.run(list_tags(ref)) == ["v1"]
