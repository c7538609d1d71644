"""Request body checks name the field; docker's string-or-list fields become lists."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.api.validate import check_typed, expect_dict, normalise_strslices
from dockyard.engine.model import Config, HostConfig
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize(("body", "message"), [
    ({"Env": "A=1"}, "Config.Env: expected a list of strings, got a string"),
    ({"Env": ["A=1", 2]}, "Config.Env: expected"),
    ({"Tty": "yes"}, "Config.Tty: expected a boolean, got a string"),
    ({"StopTimeout": 1.5}, "Config.StopTimeout: expected an integer, got a number"),
    ({"StopTimeout": True}, "Config.StopTimeout: expected an integer, got a boolean"),
    ({"StopTimeout": 2**64}, "Config.StopTimeout: expected an integer"),
    ({"Labels": {"a": 1}}, "Config.Labels: expected"),
    ({"Image": "busy\x00box"}, "Config.Image: expected a string"),
])
def test_wrong_types_name_the_field(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace("(", r"\(")):
        check_typed(body, Config, "Config")


def test_right_types_and_unknown_fields_pass() -> None:
    check_typed({"Env": ["A=1"], "Tty": True, "StopTimeout": 3, "Labels": {"a": "b"},
                 "Cmd": None, "SomethingNew": object()}, Config, "Config")
    check_typed({"Memory": 1 << 20, "Binds": ["/a:/b"], "LogConfig": {"Type": "none"}},
                HostConfig, "HostConfig")


def test_strslices() -> None:
    body: dict[str, Any] = {"Cmd": "echo hi", "Entrypoint": ["sh"], "Shell": "bash"}
    normalise_strslices(body)
    assert body == {"Cmd": ["echo hi"], "Entrypoint": ["sh"], "Shell": ["bash"]}


def test_expect_dict() -> None:
    assert expect_dict(None, "HostConfig") == {}
    with pytest.raises(InvalidArgument, match="HostConfig: expected an object, got an array"):
        expect_dict([], "HostConfig")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=10)


@given(st.dictionaries(st.sampled_from(sorted(Config.__annotations__)), json_values))
def test_any_body_is_checked_or_refused_cleanly(body: dict[str, Any]) -> None:
    try:
        check_typed(body, Config, "Config")
    except InvalidArgument as err:
        assert str(err).startswith("Config.")
