"""The runtime's json shortcut agrees with the json module."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.runtime.jsonfast import dumps, loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(values)
def test_round_trip_matches_json(value: Any) -> None:
    text = dumps(value)
    assert json.loads(text) == value
    assert loads(text) == value
    assert loads(json.dumps(value, indent=2)) == value


@pytest.mark.parametrize("bad", ["", "{", "[1,]", "{\"a\" 1}", "1 2", "nul"])
def test_bad_documents_raise_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        loads(bad)


def test_leading_and_trailing_whitespace_and_bytes() -> None:
    assert loads(b" \n{\"a\": [1, 2.5]}\n ") == {"a": [1, 2.5]}


def test_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError):
        dumps({"a": object()})
