"""The embedded DNS through the engine: round robin over a shared alias, names of
other networks unknown, other names relayed to the container's --dns server (a fake
one on 127.0.0.x here, never a real resolver)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from dockyard.network.dns import DnsServer
from tests.integration.network import core_world
from tests.integration.network.core_world import free_subnet, run, start

net_engine = core_world.net_engine  # fixtures

FIRST_ANSWER = "nslookup {0} 2>/dev/null | sed -n '/^Name:/,$p' | grep -m1 Address | cut -d' ' -f2"


@pytest.fixture
def fake_upstream() -> Iterator[str]:
    """A resolver on 127.0.0.x:53 of the host that knows one outside name."""
    server = DnsServer(lambda n: ["10.99.0.8"] if n == "outside.example" else None, [])
    for _ in range(20):
        addr = f"127.0.0.{random.randint(30, 250)}"
        try:
            server.start(None, addr, 53)
            break
        except OSError:
            continue
    else:
        pytest.skip("no free 127.0.0.x:53 on this host")
    try:
        yield addr
    finally:
        server.stop()


def test_alias_round_robin_relay_and_other_networks(net_engine: Any, fake_upstream: str
                                                    ) -> None:
    net_engine.networks.create("dnsnet", subnet=free_subnet(51))
    net_engine.networks.create("elsewhere", subnet=free_subnet(52))
    ips = set()
    for name in ("db1", "db2"):
        cid = start(net_engine, "sleep", "60", network="dnsnet", name=name, aliases=("db",))
        ips.add(net_engine.inspect(cid)["NetworkSettings"]["Networks"]["dnsnet"]["IPAddress"])
    first = FIRST_ANSWER.format("db")
    # two lookups in a row start with different addresses, both of the alias's
    script = f'a=$({first}); b=$({first}); [ "$a" != "$b" ] && ' + \
        " && ".join(f'echo "$a $b" | grep -q {ip}' for ip in ips)
    assert run(net_engine, "sh", "-c", script, network="dnsnet") == 0
    assert run(net_engine, "sh", "-c", f'[ "$({FIRST_ANSWER.format("outside.example")})" = '
               '10.99.0.8 ]', network="dnsnet", Dns=[fake_upstream]) == 0
    assert run(net_engine, "nslookup", "db1", network="elsewhere", Dns=[fake_upstream]) != 0
