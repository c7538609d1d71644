"""Registry protocol logic with no I/O: where a reference lives, which manifests to
accept, how a ``WWW-Authenticate`` challenge reads, and the Bearer token flow as a
generator that a driver feeds with responses (httpx's auth-flow shape)."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from dockyard.errors import Forbidden, InvalidArgument
from dockyard.oci import DEFAULT_DOMAIN, Digest, Reference, mediatypes

__all__ = [
    "ACCEPT", "Auth", "Challenge", "Request", "Response", "blob_url", "candidates", "endpoint",
    "manifest_url", "parse_challenge", "repo_scope", "upload_url",
]

ACCEPT = ", ".join([mediatypes.OCI_INDEX, mediatypes.OCI_MANIFEST,
                    mediatypes.DOCKER_MANIFEST_LIST, mediatypes.DOCKER_MANIFEST])
_HUB = "registry-1.docker.io"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a ``host[:port]`` names literally (None for a name)."""
    host = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_loopback(host: str) -> bool:
    if host.rsplit(":", 1)[0] == "localhost" or host == "localhost":
        return True
    ip = _address(host)
    return ip is not None and ip.is_loopback


def _marked_insecure(domain: str, insecure: frozenset[str]) -> bool:
    """Docker's ``insecure-registries``: an entry names ``host[:port]`` exactly, or is a
    CIDR holding the registry's address (names are not resolved here: no I/O)."""
    if domain in insecure:
        return True
    ip = _address(domain)
    for entry in insecure:
        if "/" not in entry:
            continue
        try:
            net = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise InvalidArgument(f"insecure registry {entry!r} is not a valid CIDR "
                                  "or host[:port]") from None
        if ip is not None and ip.version == net.version and ip in net:
            return True
    return False


def endpoint(domain: str, insecure: frozenset[str] = frozenset()) -> str:
    """``https://host`` for a registry domain; plain http only for loopback and the
    registries the user marked insecure (docker's rule)."""
    host = _HUB if domain == DEFAULT_DOMAIN else domain
    scheme = "http" if _is_loopback(host) or _marked_insecure(domain, insecure) else "https"
    return f"{scheme}://{host}"


def candidates(domain: str, insecure: frozenset[str] = frozenset()) -> list[str]:
    """Base urls to try in order: https alone for a secure registry; for loopback and
    insecure ones https (unverified) first, then plain http, as docker does."""
    secure = endpoint(domain, insecure)
    if secure.startswith("https://"):
        return [secure]
    return ["https://" + secure.removeprefix("http://"), secure]


def manifest_url(base: str, ref: Reference, target: str = "") -> str:
    """The manifest URL of ``ref`` (its digest, else its tag) or of ``target``."""
    which = target or (str(ref.digest) if ref.digest else ref.tag or "latest")
    return f"{base}/v2/{ref.path}/manifests/{which}"


def blob_url(base: str, ref: Reference, digest: Digest) -> str:
    return f"{base}/v2/{ref.path}/blobs/{digest}"


def upload_url(base: str, ref: Reference, mount: Digest | None = None,
               source: str = "") -> str:
    url = f"{base}/v2/{ref.path}/blobs/uploads/"
    if mount is not None and source:
        url += "?" + urlencode({"mount": str(mount), "from": source})
    return url


def repo_scope(ref: Reference, push: bool = False) -> str:
    return f"repository:{ref.path}:{'pull,push' if push else 'pull'}"


@dataclass(frozen=True)
class Challenge:
    scheme: str  # lower case: "bearer", "basic"
    params: dict[str, str]


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


def parse_challenge(header: str) -> Challenge:
    """``Bearer realm="https://auth",service="reg",scope="repository:a:pull"``."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        raise InvalidArgument(f"www-authenticate: empty challenge {header!r}")
    params: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if not m or m.end() == pos:
            raise InvalidArgument(f"www-authenticate: cannot parse {header[:200]!r}")
        value = m[2] if m[2] is not None else m[3]
        params[m[1].lower()] = re.sub(r"\\(.)", r"\1", value)
        pos = m.end()
    return Challenge(scheme.lower(), params)


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    read_body: bool = False  # the driver reads the reply's body (token requests)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""  # read only for token and 401 replies


@dataclass
class Auth:
    """Credentials and the tokens they earned, per scope. ``flow`` yields the request,
    answers a 401 by fetching a token (anonymous or with credentials) and retrying once."""

    username: str = ""
    password: str = ""
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    basic: bool = False

    def _basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _authorize(self, req: Request, scope: str) -> None:
        token = self.tokens.get(scope)
        if token and token[1] > time.monotonic():
            req.headers["Authorization"] = f"Bearer {token[0]}"
        elif self.basic and self.username:
            req.headers["Authorization"] = self._basic()

    def flow(self, req: Request, scope: str) -> Generator[Request, Response, None]:
        self._authorize(req, scope)
        resp = yield req
        if resp.status != 401:
            return
        header = resp.headers.get("WWW-Authenticate", "")
        if not header:
            raise Forbidden(f"{req.url}: unauthorized and no authentication challenge")
        challenge = parse_challenge(header)
        if challenge.scheme == "basic":
            if not self.username:  # docker's words
                raise Forbidden(f'{req.method.capitalize()} "{req.url}": no basic auth '
                                "credentials")
            self.basic = True
        elif challenge.scheme == "bearer":
            realm = challenge.params.get("realm", "")
            if not realm.startswith(("https://", "http://")):
                raise Forbidden(f"{req.url}: bearer challenge without a usable realm")
            # ask for our whole scope as well as the challenge's, as docker does, so a
            # push's token also covers its HEAD and GET requests
            query: list[tuple[str, str]] = [("scope", s) for s in dict.fromkeys(
                [scope, challenge.params.get("scope", "")]) if s]
            if challenge.params.get("service"):
                query.append(("service", challenge.params["service"]))
            token_req = Request("GET", realm + ("&" if "?" in realm else "?") + urlencode(
                query), read_body=True)
            if self.username:
                token_req.headers["Authorization"] = self._basic()
            token_resp = yield token_req
            if token_resp.status != 200:
                raise Forbidden(f"{realm}: token request refused ({token_resp.status})")
            self.tokens[scope] = _read_token(token_resp.body, realm)
        else:
            raise Forbidden(f"{req.url}: unsupported auth scheme {challenge.scheme!r}")
        req.headers.pop("Authorization", None)
        self._authorize(req, scope)
        retry = yield req
        if retry.status == 401:
            raise Forbidden(f"{req.url}: unauthorized: authentication required")


def _read_token(body: bytes, realm: str) -> tuple[str, float]:
    try:
        doc = json.loads(body)
        token = doc.get("token") or doc.get("access_token")
        life = float(doc.get("expires_in") or 60)
    except (ValueError, AttributeError, TypeError):
        raise Forbidden(f"{realm}: token reply is not json") from None
    if not isinstance(token, str) or not token:
        raise Forbidden(f"{realm}: token reply holds no token")
    return token, time.monotonic() + max(life - 5, 1)
