"""/etc/hostname, /etc/hosts and /etc/resolv.conf as dockerd writes them."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.etcfiles import hostname_file, hosts_file, resolv_conf


def test_hosts(tmp_path: Path) -> None:
    text = hosts_file("none", "box")
    assert text.startswith("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost")
    assert "box" not in text
    assert hosts_file("default", "box", "10.0.0.2").endswith("10.0.0.2\tbox\n")
    assert "1.2.3.4\tdb\n" in hosts_file("none", "box", extra_hosts=["db:1.2.3.4"])
    host = tmp_path / "hosts"
    host.write_text("1.1.1.1 me\n")
    assert hosts_file("host", "box", host_hosts=host) == "1.1.1.1 me\n"
    assert hostname_file("box") == "box\n"


@pytest.mark.parametrize("host_text, mode, expect", [
    ("nameserver 10.0.0.1\nsearch x\n", "none", "nameserver 10.0.0.1\nsearch x\n"),
    ("nameserver 127.0.0.53\nsearch x\n", "none",
     "search x\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n"),
    ("nameserver 127.0.0.53\nnameserver 1.1.1.1\n", "default", "nameserver 1.1.1.1\n"),
    ("nameserver 127.0.0.53\n", "host", "nameserver 127.0.0.53\n"),
    ("", "none", "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"),
])
def test_resolv_conf(tmp_path: Path, host_text: str, mode: str, expect: str) -> None:
    f = tmp_path / "resolv.conf"
    f.write_text(host_text)
    assert resolv_conf(mode, f) == expect
