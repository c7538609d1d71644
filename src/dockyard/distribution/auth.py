"""Registry credentials in docker's ``config.json`` (``$DOCKER_CONFIG``, else
``~/.docker``): inline ``auths`` entries and credential helpers
(``docker-credential-<name> get|store|erase``), read and written as docker does."""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument, InvalidConfig, NotFound, SystemFailure
from dockyard.fileio import atomic_write
from dockyard.oci import DEFAULT_DOMAIN

__all__ = ["HUB_KEY", "config_path", "erase_credentials", "get_credentials",
           "server_key", "store_credentials"]

HUB_KEY = "https://index.docker.io/v1/"


def config_path() -> Path:
    base = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    return Path(base) / "config.json"


def server_key(domain: str) -> str:
    """The key docker files a registry's credentials under."""
    return HUB_KEY if domain in (DEFAULT_DOMAIN, "index.docker.io") else domain


def _load(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        doc = json.loads(raw) if raw.strip() else {}
    except ValueError as err:
        raise InvalidConfig(f"{path}: not json: {err}") from None
    if not isinstance(doc, dict):
        raise InvalidConfig(f"{path}: want a json object")
    if not isinstance(doc.get("auths", {}), dict):
        raise InvalidConfig(f"{path}: auths: want an object")
    return doc


def _save(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps(doc, indent="\t").encode(), sync_dir=False)


def _helper_of(doc: dict[str, Any], key: str) -> str:
    helpers = doc.get("credHelpers")
    if isinstance(helpers, dict) and isinstance(helpers.get(key), str):
        return str(helpers[key])
    store = doc.get("credsStore")
    return store if isinstance(store, str) else ""


def _run_helper(helper: str, action: str, payload: str) -> str:
    exe = shutil.which(f"docker-credential-{helper}")
    if exe is None:
        raise NotFound(f"credential helper docker-credential-{helper} not found in PATH")
    proc = subprocess.run([exe, action], input=payload, capture_output=True, text=True,
                          timeout=60)
    if proc.returncode != 0:
        reason = (proc.stdout or proc.stderr).strip().splitlines()
        raise SystemFailure(f"docker-credential-{helper} {action}: "
                            f"{reason[0] if reason else f'exit {proc.returncode}'}")
    return proc.stdout


def get_credentials(domain: str, path: Path | None = None) -> tuple[str, str] | None:
    """``(username, password)`` for ``domain``, or None when none are stored."""
    path = path or config_path()
    doc = _load(path)
    key = server_key(domain)
    helper = _helper_of(doc, key)
    if helper:
        try:
            out = json.loads(_run_helper(helper, "get", key))
        except SystemFailure as err:
            if "credentials not found" in str(err).lower():
                return None
            raise
        except ValueError:
            raise SystemFailure(f"docker-credential-{helper} get: reply is not json") from None
        return str(out.get("Username", "")), str(out.get("Secret", ""))
    entry = doc.get("auths", {}).get(key)
    if not isinstance(entry, dict) or not entry.get("auth"):
        return None
    try:
        user, sep, password = base64.b64decode(entry["auth"], validate=True).decode(
            ).partition(":")
    except (binascii.Error, UnicodeDecodeError, TypeError):
        raise InvalidConfig(f"{path}: auths.{key}.auth: not base64 of user:password"
                            ) from None
    if not sep:
        raise InvalidConfig(f"{path}: auths.{key}.auth: not base64 of user:password")
    return user, password


def store_credentials(domain: str, username: str, password: str,
                      path: Path | None = None) -> None:
    """Keep credentials for ``domain`` (in its helper when one is configured)."""
    if not username or ":" in username:
        raise InvalidArgument(f"invalid username {username!r}")
    path = path or config_path()
    doc = _load(path)
    key = server_key(domain)
    helper = _helper_of(doc, key)
    if helper:
        _run_helper(helper, "store", json.dumps(
            {"ServerURL": key, "Username": username, "Secret": password}))
        doc.setdefault("auths", {})[key] = {}
    else:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        doc.setdefault("auths", {})[key] = {"auth": token}
    _save(path, doc)


def erase_credentials(domain: str, path: Path | None = None) -> bool:
    """Forget ``domain``'s credentials; False when there were none."""
    path = path or config_path()
    doc = _load(path)
    key = server_key(domain)
    helper = _helper_of(doc, key)
    found = key in doc.get("auths", {})
    if helper:
        try:
            _run_helper(helper, "erase", key)
            found = True
        except SystemFailure:
            pass
    if key in doc.get("auths", {}):
        del doc["auths"][key]
        _save(path, doc)
    return found
