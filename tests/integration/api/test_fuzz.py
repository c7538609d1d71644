"""Must-show 4: malformed bodies and parameters never make the server answer 500, and
it keeps serving. Hypothesis drives a real ``dockyard serve`` over its socket."""

from __future__ import annotations

import json
import types
import typing
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dockyard.engine.model import CONFIG_KEYS, HOST_CONFIG_KEYS, Config, HostConfig
from tests.integration.api.conftest import Served, api_call

pytestmark = pytest.mark.slow


def _call(served: Served, method: str, path: str, body: bytes | None = None
          ) -> tuple[int, bytes]:
    return api_call(served.sock, method, path, body)


def _check(served: Served, status: int, data: bytes, what: str) -> None:
    assert status != 500, f"{what}: 500 {data[:300]!r}"
    if status >= 400:
        body = json.loads(data)
        assert isinstance(body.get("message"), str) and body["message"], what
    assert _call(served, "GET", "/_ping")[0] == 200


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=4),
    max_leaves=12)

config_bodies = st.fixed_dictionaries(
    {"Image": st.sampled_from(["busybox", "busybox:nope", "", "\x00", "UPPER/case"])},
    optional={**{k: json_values for k in CONFIG_KEYS if k != "Image"},
              "HostConfig": st.dictionaries(st.sampled_from(HOST_CONFIG_KEYS), json_values,
                                            max_size=4) | json_values,
              "NetworkingConfig": json_values})

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(body=config_bodies)
def test_create_bodies(served: Served, body: dict[str, Any]) -> None:
    status, data = _call(served, "POST", "/v1.43/containers/create", json.dumps(body).encode())
    _check(served, status, data, f"create {body!r}")
    if status == 201:
        cid = json.loads(data)["Id"]
        assert _call(served, "DELETE", f"/containers/{cid}?force=1")[0] == 204


@FUZZ
@given(raw=st.binary(max_size=200))
def test_raw_bodies(served: Served, raw: bytes) -> None:
    for path in ("/containers/create", "/containers/nope/exec", "/containers/nope/update",
                 "/exec/nope/start"):
        status, data = _call(served, "POST", path, raw)
        _check(served, status, data, f"POST {path} {raw!r}")


query_values = st.text(max_size=30) | st.sampled_from(
    ["1", "0", "true", "-1", "99999999999999999999", '{"status":["running"]}',
     '{"status":{"running":true}}', '{"label":[1]}', "[]", "{", "all", "1.5"])


@FUZZ
@given(path=st.sampled_from([
    ("GET", "/containers/json"), ("GET", "/images/json"), ("GET", "/containers/{c}/logs"),
    ("POST", "/containers/{c}/stop"), ("POST", "/containers/{c}/kill"),
    ("POST", "/containers/{c}/wait"), ("POST", "/containers/{c}/resize"),
    ("GET", "/containers/{c}/top"), ("POST", "/containers/{c}/rename"),
    ("DELETE", "/images/{c}"), ("POST", "/images/{c}/tag"), ("GET", "/events"),
    ("POST", "/images/create"), ("POST", "/containers/prune"), ("GET", "/images/search"),
]), ref=st.text(min_size=1, max_size=20), query=st.dictionaries(
    st.sampled_from(["all", "limit", "size", "filters", "t", "signal", "condition", "h", "w",
                     "name", "tail", "since", "until", "force", "repo", "tag", "fromImage",
                     "term", "stdout", "follow", "ps_args"]), query_values, max_size=4))
def test_params(served: Served, path: tuple[str, str], ref: str, query: dict[str, str]) -> None:
    method, template = path
    if template == "/events" and "until" not in query:
        query["until"] = "1"  # an events stream without an end would wait for one
    if "follow" in query or "condition" in query:
        query.pop("follow", None)
        query["condition"] = "removed"  # never blocks: no container of that name exists
    if template == "/images/create":
        # Only ever a registry on loopback (nothing listens on port 9): traffic must
        # not leave the machine, and docker.io is the default for a bare name.
        query["fromImage"] = "127.0.0.1:9/fuzz/" + query.get("fromImage", "x")
    url = template.replace("{c}", quote(ref, safe="")) + "?" + urlencode(query)
    status, data = _call(served, method, url)
    if template == "/images/create" and status == 500:
        # An unreachable registry is docker's 500 too; a crash would say "internal".
        assert b"internal error" not in data and b"127.0.0.1:9" in data, data
        status = 502
    _check(served, status, data, f"{method} {url}")


@FUZZ
@given(body=st.fixed_dictionaries({  # always a loopback registry: never the default Hub
    "serveraddress": st.sampled_from(["127.0.0.1:9", "http://127.0.0.1:9/v2/", "[::1]:9"])},
    optional={"username": json_values, "password": json_values}))
def test_auth_bodies(served: Served, body: dict[str, Any]) -> None:
    status, data = _call(served, "POST", "/auth", json.dumps(body).encode())
    if status == 500:  # the (closed) loopback registry did not answer
        assert b"internal error" not in data and b":9" in data, data
        status = 502
    _check(served, status, data, f"auth {body!r}")


@FUZZ
@given(prefix=st.text(max_size=12), tail=st.text(max_size=30))
def test_paths(served: Served, prefix: str, tail: str) -> None:
    url = "/" + quote(prefix, safe="/.") + "/" + quote(tail, safe="/")
    status, data = _call(served, "GET", url)
    _check(served, status, data, f"GET {url}")
    assert status in (200, 400, 404, 405, 409)


def _for(tp: Any) -> st.SearchStrategy[Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is str:
        return st.text(max_size=20)
    if tp is bool:
        return st.booleans()
    if tp is int:
        return st.integers(-2**63, 2**63 - 1)
    if origin is list:
        return st.lists(_for(args[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(st.text(max_size=10), _for(args[1]), max_size=3)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*[st.none() if a is type(None) else _for(a) for a in args])
    return json_values


def _typed(typed: Any) -> st.SearchStrategy[dict[str, Any]]:
    hints = typing.get_type_hints(typed)
    return st.fixed_dictionaries({}, optional={k: _for(t) for k, t in hints.items()})


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=_typed(Config), host_config=_typed(HostConfig))
def test_well_typed_create(served: Served, config: dict[str, Any],
                           host_config: dict[str, Any]) -> None:
    """Right types, wild values: the engine's own checks answer, never a crash."""
    body = {**config, "Image": "busybox", "HostConfig": host_config}
    status, data = _call(served, "POST", "/containers/create", json.dumps(body).encode())
    event(f"status {status}")
    _check(served, status, data, f"create {body!r}")
    if status == 201:
        cid = json.loads(data)["Id"]
        assert _call(served, "DELETE", f"/containers/{cid}?force=1")[0] == 204
