"""Credentials in docker's config.json: inline entries, helpers, hostile files."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from dockyard.distribution.auth import (
    HUB_KEY,
    config_path,
    erase_credentials,
    get_credentials,
    store_credentials,
)
from dockyard.errors import InvalidArgument, InvalidConfig, SystemFailure


def test_docker_config_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "cfg"))
    assert config_path() == tmp_path / "cfg" / "config.json"
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path() == tmp_path / ".docker" / "config.json"


def test_store_get_erase_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"other:1": {"auth": "eDp5"}}, "psFormat": "x"}))
    store_credentials("docker.io", "me", "p:w", path)
    store_credentials("reg:5000", "you", "pw", path)
    doc = json.loads(path.read_text())
    assert base64.b64decode(doc["auths"][HUB_KEY]["auth"]) == b"me:p:w"
    assert doc["psFormat"] == "x" and doc["auths"]["other:1"] == {"auth": "eDp5"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert get_credentials("docker.io", path) == ("me", "p:w")
    assert get_credentials("index.docker.io", path) == ("me", "p:w")
    assert get_credentials("reg:5000", path) == ("you", "pw")
    assert get_credentials("nowhere", path) is None
    assert erase_credentials("reg:5000", path) is True
    assert erase_credentials("reg:5000", path) is False
    assert get_credentials("reg:5000", path) is None
    assert get_credentials("other:1", path) == ("x", "y")


def test_missing_file(tmp_path: Path) -> None:
    assert get_credentials("r", tmp_path / "none.json") is None
    assert erase_credentials("r", tmp_path / "none.json") is False


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not json"),
    ("[]", "want a json object"),
    ('{"auths": []}', "auths: want an object"),
    ('{"auths": {"r": {"auth": "!!!"}}}', "auths.r.auth: not base64"),
    ('{"auths": {"r": {"auth": "bm9jb2xvbg=="}}}', "auths.r.auth: not base64"),
])
def test_hostile_config(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(InvalidConfig, match=message):
        get_credentials("r", path)
    if message != "auths.r.auth: not base64":
        with pytest.raises(InvalidConfig):
            store_credentials("r", "u", "p", path)
    assert path.read_text() == content  # left whole


def test_bad_username(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="invalid username"):
        store_credentials("r", "a:b", "p", tmp_path / "c.json")


def _helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A docker-credential-test helper keeping its secrets in a json file."""
    store = tmp_path / "helper.json"
    exe = tmp_path / "bin" / "docker-credential-test"
    exe.parent.mkdir()
    exe.write_text(f"""#!/usr/bin/env python3
import json, sys
path = {str(store)!r}
try:
    data = json.load(open(path))
except FileNotFoundError:
    data = {{}}
action, text = sys.argv[1], sys.stdin.read()
if action == "store":
    req = json.loads(text)
    data[req["ServerURL"]] = [req["Username"], req["Secret"]]
elif action == "get":
    if text not in data:
        print("credentials not found in native keychain"); sys.exit(1)
    print(json.dumps({{"ServerURL": text, "Username": data[text][0], "Secret": data[text][1]}}))
elif action == "erase":
    data.pop(text, None)
else:
    print("boom"); sys.exit(1)
json.dump(data, open(path, "w"))
""")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ['PATH']}")
    return store


def test_credential_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = _helper(tmp_path, monkeypatch)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credHelpers": {"reg:5000": "test"}}))
    assert get_credentials("reg:5000", path) is None
    store_credentials("reg:5000", "me", "pw", path)
    assert json.loads(secrets.read_text()) == {"reg:5000": ["me", "pw"]}
    assert "auth" not in json.loads(path.read_text())["auths"]["reg:5000"]
    assert get_credentials("reg:5000", path) == ("me", "pw")
    assert erase_credentials("reg:5000", path) is True
    assert get_credentials("reg:5000", path) is None


def test_missing_helper(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "nonexistent-xyz"}))
    with pytest.raises(Exception, match="docker-credential-nonexistent-xyz not found"):
        get_credentials("r", path)


def test_failing_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _helper(tmp_path, monkeypatch)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"credsStore": "test"}))
    (tmp_path / "helper.json").write_text("not json")
    with pytest.raises(SystemFailure, match="docker-credential-test get"):
        get_credentials("r", path)
