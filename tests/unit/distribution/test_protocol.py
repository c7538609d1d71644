"""The client's I/O-free protocol: endpoints, challenge parsing, the Bearer flow."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.distribution.client.protocol import (
    Auth,
    Request,
    Response,
    endpoint,
    manifest_url,
    parse_challenge,
    upload_url,
)
from dockyard.errors import Forbidden, InvalidArgument
from dockyard.oci import Digest, parse_reference


@pytest.mark.parametrize(("domain", "insecure", "url"), [
    ("docker.io", (), "https://registry-1.docker.io"),
    ("127.0.0.1:5000", (), "http://127.0.0.1:5000"),
    ("localhost:5000", (), "http://localhost:5000"),
    ("[::1]:5000", (), "http://[::1]:5000"),
    ("127.9.9.9", (), "http://127.9.9.9"),
    ("ghcr.io", (), "https://ghcr.io"),
    ("reg.lan:5000", ("reg.lan:5000",), "http://reg.lan:5000"),
    ("reg.lan:5000", ("other",), "https://reg.lan:5000"),
    ("128.0.0.1", (), "https://128.0.0.1"),
    ("localhostx:5000", (), "https://localhostx:5000"),
    # docker's insecure-registries also take CIDRs holding the registry's address
    ("10.1.2.3:5000", ("10.0.0.0/8",), "http://10.1.2.3:5000"),
    ("10.1.2.3", ("192.168.0.0/16", "10.1.2.0/24"), "http://10.1.2.3"),
    ("10.1.2.3:5000", ("192.168.0.0/16",), "https://10.1.2.3:5000"),
    ("[fd00::5]:5000", ("fd00::/8",), "http://[fd00::5]:5000"),
    ("[fd00::5]:5000", ("10.0.0.0/8",), "https://[fd00::5]:5000"),
    ("reg.lan:5000", ("10.0.0.0/8",), "https://reg.lan:5000"),
    ("reg.lan", ("reg.lan:5000",), "https://reg.lan"),  # the port is part of the name
])
def test_endpoint(domain: str, insecure: tuple[str, ...], url: str) -> None:
    assert endpoint(domain, frozenset(insecure)) == url


def test_bad_insecure_entry() -> None:
    with pytest.raises(InvalidArgument, match=r"insecure registry '10\.0\.0\.0/33' is not a valid"):
        endpoint("10.1.2.3", frozenset({"10.0.0.0/33"}))


def test_urls() -> None:
    ref = parse_reference("busybox")
    assert manifest_url("https://r", ref) == "https://r/v2/library/busybox/manifests/latest"
    d = Digest.of(b"x")
    by_digest = parse_reference(f"busybox@{d}")
    assert manifest_url("https://r", by_digest).endswith(f"/manifests/{d}")
    assert upload_url("https://r", ref, d, "library/other") == (
        f"https://r/v2/library/busybox/blobs/uploads/?mount=sha256%3A{d.hex}"
        "&from=library%2Fother")


def test_parse_challenge_docker_hub() -> None:
    c = parse_challenge('Bearer realm="https://auth.docker.io/token",'
                        'service="registry.docker.io",scope="repository:library/a:pull"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:library/a:pull"}


def test_parse_challenge_forms() -> None:
    assert parse_challenge('Basic realm="Registry Realm"').params == {
        "realm": "Registry Realm"}
    assert parse_challenge("Bearer realm=https://x/t, service=s").params == {
        "realm": "https://x/t", "service": "s"}
    assert parse_challenge(r'Bearer realm="a\"b"').params == {"realm": 'a"b'}
    with pytest.raises(InvalidArgument, match="www-authenticate"):
        parse_challenge("")
    with pytest.raises(InvalidArgument, match="www-authenticate"):
        parse_challenge('Bearer realm="x", ===')


_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126,
                               exclude_characters='"\\'), max_size=30)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _VALUE,
                       max_size=5))
def test_parse_challenge_round_trip(params: dict[str, str]) -> None:
    header = "Bearer " + ",".join(f'{k}="{v}"' for k, v in params.items())
    assert parse_challenge(header).params == params


def _drive(auth: Auth, replies: list[Response]) -> list[Request]:
    """Run a flow against canned replies; returns the requests it made."""
    sent: list[Request] = []
    flow = auth.flow(Request("GET", "https://r/v2/a/manifests/1"), "repository:a:pull")
    req = next(flow)
    for reply in replies:
        sent.append(Request(req.method, req.url, dict(req.headers)))
        try:
            req = flow.send(reply)
        except StopIteration:
            return sent
    raise AssertionError("flow wanted more replies")


CHALLENGE = {"WWW-Authenticate": 'Bearer realm="https://auth/token",service="reg"'}


def test_anonymous_token_flow() -> None:
    auth = Auth()
    sent = _drive(auth, [Response(401, CHALLENGE),
                         Response(200, {}, json.dumps({"token": "T1"}).encode()),
                         Response(200, {})])
    assert [r.url for r in sent] == ["https://r/v2/a/manifests/1",
                                     "https://auth/token?scope=repository%3Aa%3Apull"
                                     "&service=reg", "https://r/v2/a/manifests/1"]
    assert "Authorization" not in sent[1].headers
    assert sent[2].headers["Authorization"] == "Bearer T1"
    # the token is reused for the same scope without another round trip
    again = _drive(auth, [Response(200, {})])
    assert again[0].headers["Authorization"] == "Bearer T1"


def test_credentialed_token_flow() -> None:
    auth = Auth("me", "pw")
    sent = _drive(auth, [Response(401, CHALLENGE),
                         Response(200, {}, b'{"access_token": "T2", "expires_in": 300}'),
                         Response(200, {})])
    assert sent[1].headers["Authorization"] == "Basic " + base64.b64encode(b"me:pw").decode()
    assert sent[2].headers["Authorization"] == "Bearer T2"


def test_basic_flow() -> None:
    sent = _drive(Auth("me", "pw"), [Response(401, {"WWW-Authenticate": 'Basic realm="r"'}),
                                     Response(200, {})])
    assert sent[1].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(("replies", "message"), [
    ([Response(401, {})], "no authentication challenge"),
    ([Response(401, {"WWW-Authenticate": 'Basic realm="r"'})],
     '^Get "https://r/v2/a/manifests/1": no basic auth credentials$'),
    ([Response(401, CHALLENGE), Response(403, {})], "token request refused"),
    ([Response(401, CHALLENGE), Response(200, {}, b"<html>")], "not json"),
    ([Response(401, CHALLENGE), Response(200, {}, b"{}")], "holds no token"),
    ([Response(401, CHALLENGE), Response(200, {}, b'{"token": "x"}'), Response(401, {})],
     "authentication required"),
    ([Response(401, {"WWW-Authenticate": 'Bearer service="x"'})], "realm"),
    ([Response(401, {"WWW-Authenticate": 'Negotiate x="y"'})], "unsupported auth scheme"),
])
def test_flow_failures(replies: list[Response], message: str) -> None:
    with pytest.raises(Forbidden, match=message):
        _drive(Auth(), replies)


def test_candidates() -> None:
    from dockyard.distribution.client.protocol import candidates

    assert candidates("ghcr.io") == ["https://ghcr.io"]
    assert candidates("docker.io") == ["https://registry-1.docker.io"]
    assert candidates("127.0.0.1:5000") == ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]
    assert candidates("reg.lan", frozenset({"reg.lan"})) == ["https://reg.lan",
                                                              "http://reg.lan"]
