"""Our json-file lines are Docker's: the same output logged by dockerd 20.10 and by us."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from tests.support.dockerd import Dockerd

from dockyard.engine.logs import LineSplitter
from dockyard.engine.logs.codec import encode_json_line

# Quotes, backslashes, tabs, CR, control bytes, HTML characters, UTF-8, U+2028,
# invalid UTF-8, a line longer than Docker's 16 KiB message limit, no final newline.
SCRIPT = r"""
printf 'plain\n<a href="x">&amp;</a>\n\\ back \t tab\r\n\001\033[1mbold\n'
printf '\303\251t\303\251 \342\200\250 sep \342\202\254\n\377\376 invalid\n'
printf 'cut \342\202 short, real \357\277\275 replacement char\n'
printf 'to stderr\n' >&2
head -c 20000 /dev/zero | tr '\0' a; echo
printf 'no newline at the end'
"""
TIME = re.compile(rb',"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z)"}\n$')


def _without_time(line: bytes) -> bytes:
    m = TIME.search(line)
    assert m, line
    assert not m.group(1).endswith(b"0Z"), "Go trims trailing zeros of the fraction"
    return line[:m.start()] + b"}"


def _ours(stream: str) -> list[bytes]:
    out = subprocess.run(["busybox", "sh", "-c", SCRIPT], capture_output=True, check=True)
    raw = out.stdout if stream == "stdout" else out.stderr
    sp = LineSplitter()
    msgs = sp.feed(raw) + sp.flush()
    return [_without_time(encode_json_line(m, stream, 1_700_000_000_120_000_000))
            for m in msgs]


@pytest.mark.peer
@pytest.mark.slow
def test_json_file_lines_match_dockers(dockerd: Dockerd, busybox_rootfs_template: Path) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, "dytest/busybox:logs")
    cid = dockerd.docker("run", "-d", "--network", "none", "dytest/busybox:logs",
                         "sh", "-c", SCRIPT).stdout.strip()
    try:
        assert dockerd.docker("wait", cid).stdout.strip() == "0"
        log_path = dockerd.docker("inspect", "-f", "{{.LogPath}}", cid).stdout.strip()
        lines = Path(log_path).read_bytes().splitlines(keepends=True)
    finally:
        dockerd.docker("rm", "-f", cid, check=False)
    theirs = {"stdout": [], "stderr": []}  # type: dict[str, list[bytes]]
    for line in lines:
        theirs[json.loads(line)["stream"]].append(_without_time(line))
    assert theirs["stdout"] == _ours("stdout")
    assert theirs["stderr"] == _ours("stderr")
