"""ADD <url> naming and ``--checksum`` parsing (BuildKit's rules)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.build.fetch import check_checksum, is_git_source, is_url, url_filename
from dockyard.errors import InvalidArgument


@pytest.mark.parametrize("url, name", [
    ("http://h/a/b.txt", "b.txt"),
    ("https://h/a/b.tar.gz?x=1#frag", "b.tar.gz"),
    ("http://h/", "__unnamed__"),
    ("http://h", "__unnamed__"),
    ("http://h/dir/", "dir"),
    ("http://h/a/..", "__unnamed__"),
    ("http://127.0.0.1:8080/x%20y", "x y"), ("http://h/a%2Fb", "b"),
    ("http://h/%2E%2E", "__unnamed__"),
])
def test_url_filename(url: str, name: str) -> None:
    assert url_filename(url) == name


@pytest.mark.parametrize("source, fetched", [
    ("http://h/x", True), ("https://h/x", True), ("ftp://h/x", False),
    ("git@github.com:a/b.git", False), ("HTTP://h/x", False), ("dir/http://x", False),
])
def test_only_http_sources_are_fetched(source: str, fetched: bool) -> None:
    assert is_url(source) is fetched


@pytest.mark.parametrize("source, git", [
    ("https://github.com/moby/buildkit.git", True), ("https://h/r.git#main", True),
    ("https://h/r.git#v1:sub/dir", True), ("git@github.com:a/b.git", True),
    ("git://h/r", True), ("https://h/r.git/", True), ("https://h/file.tar.gz", False),
    ("https://h/dir.git.txt", False), ("repo.git", False), ("https://h/x?y=.git", False),
])
def test_git_sources(source: str, git: bool) -> None:
    assert is_git_source(source) is git


@pytest.mark.parametrize("value, algo", [
    ("sha256:" + "a" * 64, "sha256"), ("sha384:" + "0" * 96, "sha384"),
    ("sha512:" + "f" * 128, "sha512"),
])
def test_good_checksums(value: str, algo: str) -> None:
    assert check_checksum(value) == algo


@pytest.mark.parametrize("value", [
    "", "sha256:", "sha256:abc", "sha256:" + "A" * 64, "md5:" + "0" * 32,
    "sha256:" + "0" * 63, "sha256:" + "0" * 65, "0" * 64, "sha256:" + "g" * 64,
    "sha256:" + "0" * 64 + "\n",
])
def test_bad_checksums(value: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid checksum digest format"):
        check_checksum(value)


@given(st.text(max_size=80))
def test_checksum_parsing_accepts_only_the_three_digest_forms(value: str) -> None:
    try:
        algo = check_checksum(value)
    except InvalidArgument:
        return
    body = value.split(":", 1)[1]
    assert algo in ("sha256", "sha384", "sha512")
    assert len(body) == {"sha256": 64, "sha384": 96, "sha512": 128}[algo]
    assert set(body) <= set("0123456789abcdef")
