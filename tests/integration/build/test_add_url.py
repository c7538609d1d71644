"""``ADD <url>``: fetched from a server the test runs on 127.0.0.1, compared with what
docker 20.10 + BuildKit makes of the same Dockerfile (names, mode 0600, owners, no
unpacking, Last-Modified as mtime), plus checksums, cache and broken sources."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.integration.build.conftest import BuildEnv, write
from tests.integration.build.test_bad_input import assert_failed_cleanly
from tests.integration.build.test_vs_docker import docker_side, dockyard_side, saved_mtimes
from tests.support.dockerd import Dockerd

MODIFIED = "Wed, 21 Oct 2015 07:28:00 GMT"
MODIFIED_EPOCH = 1445412480


class Files:
    """What the server serves: path -> bytes, and how often each was asked for."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.hits: dict[str, int] = {}


@pytest.fixture
def server() -> Iterator[tuple[str, Files]]:
    files = Files()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.partition("?")[0]
            files.hits[path] = files.hits.get(path, 0) + 1
            body = files.data.get(path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if not path.startswith("/fresh"):
                self.send_header("Last-Modified", MODIFIED)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", files
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def a_tar_gz() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("inside.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"in"))
    return gzip.compress(buf.getvalue())


@pytest.mark.peer
@pytest.mark.slow
def test_add_url_like_docker_buildkit(server: tuple[str, Files], docker_busybox: Dockerd,
                                      benv: BuildEnv, tmp_path: Path) -> None:
    base, files = server
    files.data.update({"/files/data.txt": b"remote data\n", "/files/pkg.tar.gz": a_tar_gz(),
                       "/": b"index\n", "/fresh/new.txt": b"no date\n",
                       "/files/with%20space.txt": b"spaced\n"})
    ctx = write(tmp_path / "ctx", {"Dockerfile": (
        f"FROM busybox\nADD {base}/files/data.txt /web/\n"
        f"ADD {base}/files/data.txt /web/renamed\n"
        f"ADD {base}/files/pkg.tar.gz /web/tarball/\n"
        f"ADD --chown=tester --chmod=0644 {base}/ /web/root/\n"
        f"ADD {base}/files/data.txt?x=1 /etc\nADD {base}/fresh/new.txt /web/\n"
        f"WORKDIR /rel\nADD {base}/files/data.txt here\n"
        f"ADD {base}/files/with%20space.txt /web/\n")})
    tag = "dydiff/add-url:1"
    want_cfg, want_tree, _ = docker_side(docker_busybox, ctx, tag, [])
    got_cfg, got_tree, _ = dockyard_side(benv, ctx, tag, [])
    assert got_cfg.get("WorkingDir") == want_cfg.get("WorkingDir") == "/rel"
    added = {k: v for k, v in got_tree.items() if want_tree.get(k) != v}
    missing = {k: v for k, v in want_tree.items() if got_tree.get(k) != v}
    # docker 20.10's BuildKit (v0.8) ignores --chmod for URL sources; newer BuildKit
    # applies it (its HTTP copy passes the mode), and so does dockyard
    assert added.pop("/web/root/__unnamed__")[1:4] == ("0o644", 1000, 1000)
    assert missing.pop("/web/root/__unnamed__")[1:4] == ("0o600", 1000, 1000)
    assert (added, missing) == ({}, {})
    assert got_tree["/web/data.txt"][1] == "0o600"  # remote files are 0600
    assert "/web/tarball/pkg.tar.gz" in got_tree  # never unpacked
    assert "/web/with space.txt" in got_tree  # the decoded path names the file
    saved = subprocess.run(benv.dockyard_argv("save", "--format", "docker", tag),
                           check=True, capture_output=True, timeout=120).stdout
    docker_saved = subprocess.run(["/usr/bin/docker", "save", tag], env=docker_busybox.env(),
                                  check=True, capture_output=True, timeout=120).stdout
    got, want = saved_mtimes(saved), saved_mtimes(docker_saved)
    for path in ("/web/data.txt", "/web/renamed", "/etc/data.txt", "/rel/here"):
        assert got[path] == want[path] == MODIFIED_EPOCH, path
    assert got["/web/new.txt"] != MODIFIED_EPOCH


def test_add_url_checksum_and_cache(server: tuple[str, Files], benv: BuildEnv,
                                    tmp_path: Path) -> None:
    base, files = server
    files.data["/v.txt"] = b"version 1\n"
    good = "sha256:" + hashlib.sha256(b"version 1\n").hexdigest()
    ctx = write(tmp_path / "ctx", {"Dockerfile": (
        f"FROM busybox\nADD --checksum={good} {base}/v.txt /v.txt\nRUN cat /v.txt > /copy\n")})
    first = benv.ok(ctx, "-t", "url:1")
    again = benv.ok(ctx, "-t", "url:1")
    assert again.image_id == first.image_id  # same bytes: fully cached
    assert "CACHED" in again.err
    assert files.hits["/v.txt"] == 2  # fetched each build, as BuildKit checks the source
    out = benv.dockyard("run", "--rm", "url:1", "cat", "/copy").stdout
    assert out == "version 1\n"
    # changed bytes under the same URL: the pinned checksum refuses them
    files.data["/v.txt"] = b"version 2\n"
    before = benv.tags()
    r = benv.build(ctx, "-t", "url:1")
    assert "digest mismatch sha256:" + hashlib.sha256(b"version 2\n").hexdigest() in r.err
    assert_failed_cleanly(benv, r, before)
    # without a pin the new bytes rebuild the ADD and the RUN after it
    (ctx / "Dockerfile").write_text(
        f"FROM busybox\nADD {base}/v.txt /v.txt\nRUN cat /v.txt > /copy\n")
    third = benv.ok(ctx, "-t", "url:1")
    assert third.image_id != first.image_id
    assert "CACHED" not in third.err
    assert benv.dockyard("run", "--rm", "url:1", "cat", "/copy").stdout == "version 2\n"


def test_add_url_unpack_true_extracts_a_remote_tar(server: tuple[str, Files], benv: BuildEnv,
                                                   tmp_path: Path) -> None:
    base, files = server
    files.data["/pkg.tar.gz"] = a_tar_gz()
    ctx = write(tmp_path / "ctx", {"Dockerfile": (
        f"FROM busybox\nADD --unpack=true {base}/pkg.tar.gz /x/\n"
        f"ADD {base}/pkg.tar.gz /y/\nRUN ls /x /y > /seen\n")})
    benv.ok(ctx, "-t", "unpack:1")
    seen = benv.dockyard("run", "--rm", "unpack:1", "cat", "/seen").stdout
    assert seen == "/x:\ninside.txt\n\n/y:\npkg.tar.gz\n"


@pytest.mark.parametrize("line, message", [
    ("ADD {base}/missing.txt /", "ADD {base}/missing.txt: invalid response status 404"),
    ("ADD http://127.0.0.1:9/x /", "ADD http://127.0.0.1:9/x: connection refused"),
    ("ADD --checksum=sha256:abc {base}/v.txt /", "invalid checksum digest format"),
    ("ADD --checksum=md5:{zeros} {base}/v.txt /", "invalid checksum digest format"),
    ("ADD --checksum=sha256:{zeros} a.txt /", "checksum can't be specified for non-HTTP(S)"),
    ("ADD --checksum=sha256:{zeros} {base}/v.txt a.txt /d/",
     "checksum can't be specified for multiple sources"),
    ("ADD {base}/v.txt a.txt /d", "the destination must be a directory"),
    ("COPY {base}/v.txt /", "source can't be a URL for COPY"),
    ("ADD {base}/repo.git#main /src", "git repositories as sources are not supported"),
])
def test_bad_url_sources_stop_the_build(server: tuple[str, Files], benv: BuildEnv,
                                        tmp_path: Path, line: str, message: str) -> None:
    base, files = server
    files.data["/v.txt"] = b"v\n"
    ctx = write(tmp_path / "ctx", {"Dockerfile": "FROM busybox\n", "a.txt": "a"})
    benv.ok(ctx, "-t", "app:1")
    before = benv.tags()
    fill = {"base": base, "zeros": "0" * 64}
    (ctx / "Dockerfile").write_text("FROM busybox\n" + line.format(**fill) + "\n")
    r = benv.build(ctx, "-t", "app:1")
    assert message.format(**fill) in r.err
    assert_failed_cleanly(benv, r, before)


def test_saved_mtimes_reads_the_top_layer_entry() -> None:
    # the helper the differential test relies on: later layers win
    outer = io.BytesIO()
    with tarfile.open(fileobj=outer, mode="w") as tar:
        layers = []
        for n, mtime in enumerate((100, 200)):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as lt:
                info = tarfile.TarInfo("x/f")
                info.mtime = mtime
                lt.addfile(info, io.BytesIO(b""))
            raw = buf.getvalue()
            name = f"{n}/layer.tar"
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
            layers.append(name)
        manifest = json.dumps([{"Layers": layers}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    assert saved_mtimes(outer.getvalue()) == {posixpath.normpath("/x/f"): 200}
