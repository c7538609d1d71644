"""config.json validation: every bad field named in a one-line InvalidConfig."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.errors import InvalidConfig
from dockyard.runtime.spec import default_spec, parse_config, validate_config


def _cfg(**linux: Any) -> dict[str, Any]:
    c = default_spec(args=["true"], terminal=False)
    c["linux"].update(linux)
    return c


def test_default_spec_is_valid_and_round_trips() -> None:
    c = default_spec()
    assert validate_config(c) is c
    assert parse_config(json.dumps(c)) == c


@pytest.mark.parametrize(("path", "value", "field"), [
    (("ociVersion",), None, "ociVersion"),
    (("root",), None, "root"),
    (("root", "path"), "", "root.path"),
    (("process",), None, "process"),
    (("process", "args"), None, "process.args"),
    (("process", "args"), [], "process.args"),
    (("process", "args"), "sh", "process.args"),
    (("process", "cwd"), "relative", "process.cwd"),
    (("process", "cwd"), None, "process.cwd"),
    (("process", "env"), [1], "process.env[0]"),
    (("process", "user", "uid"), "0", "process.user.uid"),
    (("process", "user", "uid"), True, "process.user.uid"),
    (("process", "terminal"), "yes", "process.terminal"),
    (("process", "rlimits"), [{"type": "NOFILE", "soft": 1, "hard": 1}],
     "process.rlimits[0].type"),
    (("process", "rlimits"), [{"type": "RLIMIT_NOFILE", "soft": "1", "hard": 1}],
     "process.rlimits[0].soft"),
    (("mounts",), [{"type": "tmpfs"}], "mounts[0].destination"),
    (("mounts",), [{"destination": "/x", "options": "ro"}], "mounts[0].options"),
    (("hooks",), {"prestart": [{"path": "relative"}]}, "hooks.prestart[0].path"),
    (("hooks",), {"later": []}, "hooks.later"),
    (("linux", "namespaces"), [{"type": "time-travel"}], "linux.namespaces[0].type"),
    (("linux", "namespaces"), [{"type": "pid"}, {"type": "pid"}], "linux.namespaces[1].type"),
    (("linux", "uidMappings"), [{"containerID": 0, "hostID": 1}],
     "linux.uidMappings[0].size"),
    (("linux", "devices"), [{"path": "/dev/x", "type": "z"}], "linux.devices[0].type"),
    (("linux", "sysctl"), {"net.ipv4.ip_forward": 1}, "linux.sysctl.net.ipv4.ip_forward"),
    (("linux", "maskedPaths"), "/proc/kcore", "linux.maskedPaths"),
])
def test_bad_field_is_named(path: tuple[str, ...], value: Any, field: str) -> None:
    c = _cfg()
    node = c
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    with pytest.raises(InvalidConfig) as err:
        validate_config(c)
    msg = str(err.value)
    assert msg.startswith(f"config.json: {field}:"), msg
    assert "\n" not in msg


@pytest.mark.parametrize("raw", ["", "{", "[]", "null", "{\"a\": 1} x", b"\xff\xfe"])
def test_not_a_config_document(raw: str | bytes) -> None:
    with pytest.raises(InvalidConfig) as err:
        parse_config(raw)
    assert str(err.value).startswith("config.json")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=10)


@given(key=st.sampled_from(["process", "root", "linux", "mounts", "hooks", "hostname"]),
       value=_json_values)
def test_any_junk_in_a_section_is_invalid_config_or_accepted(key: str, value: Any) -> None:
    c = copy.deepcopy(_cfg())
    c[key] = value
    try:
        validate_config(c)
    except InvalidConfig as exc:
        assert str(exc).startswith("config.json: ")
