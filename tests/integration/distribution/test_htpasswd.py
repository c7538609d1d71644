"""``registry serve --htpasswd``: basic auth with bcrypt hashes, the spec's
UNAUTHORIZED error, and our client and skopeo logging in."""

from __future__ import annotations

import asyncio
import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.distribution import Auth, check_login, pull, push
from dockyard.distribution.server.htpasswd import Htpasswd, verify
from dockyard.errors import Forbidden, InvalidConfig
from dockyard.images import ImageStore
from dockyard.oci import parse_reference
from dockyard.settings import Roots
from tests.integration.distribution.conftest import RegistryThread
from tests.integration.distribution.peers import htpasswd_line
from tests.integration.distribution.test_token import four_layer_image


def bcrypt(password: str) -> str:
    return htpasswd_line("x", password).partition(":")[2]


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[RegistryThread]:
    pw = tmp_path / "htpasswd"
    pw.write_text(f"# users\nalice:{bcrypt('s3cret')}\nbob:{bcrypt('hunter2')}\n")
    server = RegistryThread(tmp_path / "reg", htpasswd=pw)
    try:
        yield server
    finally:
        server.close()


def basic(user: str, pw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()}


def test_unauthorized(secured: RegistryThread) -> None:
    for headers in (None, basic("alice", "wrong"), basic("eve", "s3cret"),
                    {"Authorization": "Basic !!!"}, {"Authorization": "Bearer x"}):
        r = secured.call("GET", "/v2/", headers=headers)
        assert r.status == 401 and r.error_codes() == ["UNAUTHORIZED"]
        assert r.headers["WWW-Authenticate"] == 'Basic realm="dockyard"'
    r = secured.call("POST", "/v2/x/blobs/uploads/", headers=basic("alice", "wrong"))
    assert r.status == 401
    assert list((secured.root / "uploads").iterdir()) == []
    for user, pw in (("alice", "s3cret"), ("bob", "hunter2"), ("alice", "s3cret")):
        assert secured.call("GET", "/v2/", headers=basic(user, pw)).status == 200


def test_client_with_credentials(secured: RegistryThread, tmp_path: Path) -> None:
    host = f"127.0.0.1:{secured.port}"
    asyncio.run(check_login(host, "alice", "s3cret"))
    with pytest.raises(Forbidden, match="authentication required"):
        asyncio.run(check_login(host, "alice", "nope"))
    with ImageStore(Roots(tmp_path / "a", tmp_path / "a-run")) as src, \
            ImageStore(Roots(tmp_path / "b", tmp_path / "b-run")) as dst:
        image = four_layer_image(src, "local/app:v1")
        ref = parse_reference(f"{host}/app:v1")
        with pytest.raises(Forbidden):
            asyncio.run(push(src, "local/app:v1", ref))
        asyncio.run(push(src, "local/app:v1", ref, auth=Auth("alice", "s3cret")))
        assert asyncio.run(pull(dst, ref, auth=Auth("bob", "hunter2"))).id == image.id


@pytest.mark.peer
def test_skopeo_with_credentials(secured: RegistryThread, busybox_rootfs: Path,
                                 tmp_path: Path) -> None:
    from tests.integration.distribution.layout import make_layout

    make_layout(busybox_rootfs, tmp_path / "src", "v1")
    target = f"docker://127.0.0.1:{secured.port}/bb:v1"
    cmd = ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
           f"oci:{tmp_path / 'src'}:v1", target]
    denied = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert denied.returncode != 0 and "unauthorized" in denied.stderr.lower()
    subprocess.run([*cmd, "--dest-creds", "alice:s3cret"], check=True, capture_output=True,
                   timeout=60)
    assert secured.call("GET", "/v2/bb/tags/list",
                        headers=basic("alice", "s3cret")).json()["tags"] == ["v1"]


@pytest.mark.parametrize(("content", "message"), [
    ("", "no users"), ("alice\n", ":1: want user:bcrypt-hash"),
    ("alice:{SHA}abc\n", ":1: want user:bcrypt-hash"), ("# c\n:$2y$05$x\n", ":2: want"),
])
def test_bad_htpasswd(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "htpasswd"
    path.write_text(content)
    with pytest.raises(InvalidConfig, match=message):
        Htpasswd(path)
    with pytest.raises(InvalidConfig, match="cannot read"):
        Htpasswd(tmp_path / "missing")


# Lines written by apache2-utils' ``htpasswd -nbB -C 4`` (2.4.57): the $2y$ prefix, a
# non-ASCII password, and one past bcrypt's 72 bytes (htpasswd hashes the first 72).
_LONG = "a" * 80
_REAL = [
    ("long", "$2y$04$uwVf/ko5hm8CimWtOPkJOOFnHI5/oPrZ6Fxmyv5aQJRQbpirgp5.K"),
    ("pässwörd", "$2y$04$QDZGezyCIV9NXarlMvEzd.kmJNaq5Fm2Icccg2pChKxqGSicQkmJO"),
    (_LONG, "$2y$04$yqOi19kry9EgYZAtA5L56uBMSSK3RaUgPNRQoxsT8pltVTqU5QqSa"),
]


@pytest.mark.parametrize(("password", "hashed"), _REAL)
def test_verify_real_htpasswd_hashes(password: str, hashed: str) -> None:
    assert verify(password, hashed)
    assert not verify(password + "x" if len(password) < 72 else "b" + password, hashed)
    assert not verify("", hashed)
    # the same hash in the $2a$/$2b$ spellings other tools write
    for prefix in ("$2a$", "$2b$"):
        assert verify(password, prefix + hashed[4:])


@pytest.mark.parametrize("hashed", ["$2y$04$short", "$2y$99$" + "a" * 53, "$2y$04$" + "é" * 53,
                                    "", "$1$abc$def"])
def test_verify_malformed_hash_matches_nothing(hashed: str) -> None:
    assert not verify("pw", hashed)


def test_verify_without_crypt_module() -> None:
    """The check works where Python has no ``crypt`` (3.13)."""
    import sys

    saved = sys.modules.get("crypt")
    sys.modules["crypt"] = None  # type: ignore[assignment]  # import crypt now fails
    try:
        assert verify("long", _REAL[0][1])
    finally:
        if saved is None:
            del sys.modules["crypt"]
        else:
            sys.modules["crypt"] = saved


@pytest.mark.skipif(not __import__("shutil").which("htpasswd"),
                    reason="htpasswd (apache2-utils) is not installed")
def test_file_written_by_htpasswd_tool(tmp_path: Path) -> None:
    path = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-cbB", "-C", "4", str(path), "carol", "pa:ss"], check=True,
                   capture_output=True)
    subprocess.run(["htpasswd", "-bB", "-C", "4", str(path), "dave", _LONG], check=True,
                   capture_output=True)
    table = Htpasswd(path)
    assert table.check("Basic " + base64.b64encode(b"carol:pa:ss").decode()) == "carol"
    assert table.check("Basic " + base64.b64encode(f"dave:{_LONG}".encode()).decode()) == "dave"
    assert table.check("Basic " + base64.b64encode(b"carol:pa:sss").decode()) is None
