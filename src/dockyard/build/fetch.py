"""``ADD <url>``: fetch an http(s) source into a private file, as BuildKit's HTTP source.

The file is named after the last segment of the URL's path (``__unnamed__`` without
one), has mode 0600 and the mtime of a ``Last-Modified`` header, and is never
unpacked. ``--checksum=sha256:…`` is checked against what arrived. The content
digest goes into the step's cache key, so a changed resource rebuilds the step and
an unchanged one stays cached.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from dockyard.errors import InvalidArgument

__all__ = ["Download", "check_checksum", "fetch_url", "is_git_source", "is_url", "url_filename"]

_TIMEOUT = 60.0
_CHECKSUM = re.compile(r"sha(256|384|512):([0-9a-f]+)\Z")
_HEX_LEN = {"256": 64, "384": 96, "512": 128}


@dataclass(frozen=True)
class Download:
    """A fetched URL: where it is on the host, the name it gets, its digest and mtime."""

    url: str
    path: Path
    name: str
    digest: str
    mtime: float | None


def is_url(source: str) -> bool:
    """BuildKit's test: only http and https sources are fetched."""
    return source.startswith(("http://", "https://"))


def is_git_source(source: str) -> bool:
    """What BuildKit's ADD reads as a git repository: ``git@…``, ``git://…``, or an
    http(s) URL whose path ends in ``.git`` (a ``#ref`` may follow)."""
    if source.startswith(("git@", "git://")):
        return True
    if not is_url(source):
        return False
    from urllib.parse import urlsplit

    return urlsplit(source.partition("#")[0]).path.rstrip("/").endswith(".git")


def url_filename(url: str) -> str:
    """The last segment of the URL's path (Go's ``path.Base``: trailing slashes do not
    count); ``__unnamed__`` when there is none. ``..`` is not a name here either."""
    from urllib.parse import unquote, urlsplit

    # Go's url.Parse gives the decoded path (%20 is a space, %2F a slash)
    base = posixpath.basename(unquote(urlsplit(url).path).rstrip("/"))
    return base if base not in ("", ".", "..") else "__unnamed__"


def check_checksum(checksum: str) -> str:
    """The algorithm of a ``--checksum`` value; a malformed one raises."""
    m = _CHECKSUM.match(checksum)
    if m is None or len(m.group(2)) != _HEX_LEN[m.group(1)]:
        raise InvalidArgument(f"invalid checksum digest format: {checksum!r} (want "
                              "sha256:<64 hex digits>)")
    return "sha" + m.group(1)


def fetch_url(url: str, into: Path, checksum: str = "") -> Download:
    """GET ``url`` into a new file in directory ``into``; raise naming what failed."""
    import email.utils
    import urllib.error
    import urllib.request

    algo = check_checksum(checksum) if checksum else "sha256"
    name = url_filename(url)
    into.mkdir(parents=True, exist_ok=True)
    path = into / f"{len(os.listdir(into))}-{name}"
    h = hashlib.new(algo)
    request = urllib.request.Request(url, headers={"User-Agent": "dockyard-build"})
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response, \
                open(path, "xb") as out:
            while chunk := response.read(1 << 20):
                h.update(chunk)
                out.write(chunk)
            modified = response.headers.get("Last-Modified")
    except urllib.error.HTTPError as err:
        raise InvalidArgument(f"ADD {url}: invalid response status {err.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        if isinstance(reason, OSError) and reason.strerror:
            reason = reason.strerror.lower()
        raise InvalidArgument(f"ADD {url}: {reason}") from None
    digest = f"{algo}:{h.hexdigest()}"
    if checksum and digest != checksum:
        path.unlink()
        raise InvalidArgument(f"ADD {url}: digest mismatch {digest}: {checksum}")
    os.chmod(path, 0o600)
    mtime = None
    if modified:
        try:
            mtime = email.utils.parsedate_to_datetime(modified).timestamp()
        except (TypeError, ValueError):
            mtime = None
    return Download(url, path, name, digest, mtime)
