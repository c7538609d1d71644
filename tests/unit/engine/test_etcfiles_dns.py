"""resolv.conf with --dns/--dns-search/--dns-option and the embedded DNS (user networks),
as dockerd 20.10 builds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.engine.etcfiles import hosts_file, resolv_conf

HOST = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.test lab.test\n" \
       "options edns0 trust-ad\n"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    p = tmp_path / "resolv.conf"
    p.write_text(HOST)
    return p


@pytest.mark.parametrize(("kw", "want"), [
    ({}, "# generated\nnameserver 10.0.0.2\nsearch corp.test lab.test\n"
         "options edns0 trust-ad\n"),
    ({"embedded_dns": True}, "search corp.test lab.test\nnameserver 127.0.0.11\n"
                             "options edns0 trust-ad ndots:0\n"),
    ({"embedded_dns": True, "options": ["ndots:3"]},
     "search corp.test lab.test\nnameserver 127.0.0.11\noptions ndots:3\n"),
    ({"dns": ["1.1.1.1", "9.9.9.9"]},
     "search corp.test lab.test\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n"
     "options edns0 trust-ad\n"),
    ({"search": ["."]}, "nameserver 10.0.0.2\noptions edns0 trust-ad\n"),
    ({"search": ["x.test"], "options": ["attempts:2"], "embedded_dns": True},
     "search x.test\nnameserver 127.0.0.11\noptions attempts:2 ndots:0\n"),
])
def test_resolv_conf_like_dockerd(host: Path, kw: dict[str, object], want: str) -> None:
    assert resolv_conf("bridge", host, **kw) == want  # type: ignore[arg-type]


def test_host_mode_keeps_the_hosts_file_unless_flags_are_given(host: Path) -> None:
    assert resolv_conf("host", host) == HOST
    assert resolv_conf("host", host, dns=["10.9.9.9"]).count("nameserver") == 1


def test_only_loopback_nameservers_fall_back_to_googles(tmp_path: Path) -> None:
    p = tmp_path / "r"
    p.write_text("nameserver 127.0.0.53\n")
    assert resolv_conf("none", p) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def test_hosts_file_has_the_address_line_last() -> None:
    text = hosts_file("bridge", "web", "172.17.0.2", extra_hosts=["db:10.0.0.9"])
    assert text.splitlines()[-2:] == ["10.0.0.9\tdb", "172.17.0.2\tweb"]
    assert "ff02::2\tip6-allrouters" in text
