"""Must-show 4 on test-made namespaces: a 20mbit egress limit measures 20 Mbit/s ± 15%
over 3 s; an unlimited sender is much faster; ingress limits the other direction."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from dockyard.network import shaping
from dockyard.network.dns_netns import netns_socket
from tests.integration.network.ports_world import Endpoint, World

WARMUP, WINDOW = 0.5, 3.0


@pytest.fixture
def pair(session_token: str) -> Iterator[tuple[Endpoint, Endpoint]]:
    w = World(session_token)
    try:
        bridge, subnet = w.bridge()
        yield w.container(bridge, subnet, 2), w.container(bridge, subnet, 3)
    finally:
        w.close()


def measure(sender: Endpoint, receiver: Endpoint, port: int) -> float:
    """Bits/s that ``receiver`` gets over WINDOW seconds after WARMUP of a TCP stream."""
    server = netns_socket(f"/run/netns/{receiver.netns}")
    server.bind((receiver.address, port))
    server.listen(1)
    client = netns_socket(f"/run/netns/{sender.netns}")
    stop = threading.Event()

    def send() -> None:
        chunk = b"x" * 65536
        try:
            client.connect((receiver.address, port))
            while not stop.is_set():
                client.sendall(chunk)
        except OSError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    conn, _ = server.accept()
    total, start = 0, time.monotonic()
    counting_from = start + WARMUP
    with conn:
        while (now := time.monotonic()) < counting_from + WINDOW:
            data = conn.recv(1 << 20)
            if now >= counting_from:
                total += len(data)
        stop.set()
    client.close()
    server.close()
    thread.join(5)
    return total * 8 / WINDOW


@pytest.mark.slow
def test_egress_limit_holds_and_unlimited_is_faster(pair: tuple[Endpoint, Endpoint]) -> None:
    limited, other = pair
    shaping.set_rate("eth0", f"/run/netns/{limited.netns}", egress=20_000_000)
    assert shaping.get_rate("eth0", f"/run/netns/{limited.netns}") == (20_000_000, 0)
    rate = measure(limited, other, 5001)
    assert 17_000_000 <= rate <= 23_000_000, f"{rate / 1e6:.1f} Mbit/s"
    fast = measure(other, limited, 5002)  # the unlimited one, same path reversed
    assert fast > 3 * 20_000_000, f"{fast / 1e6:.1f} Mbit/s"


@pytest.mark.slow
def test_ingress_limit_and_update(pair: tuple[Endpoint, Endpoint]) -> None:
    limited, other = pair
    ns = f"/run/netns/{limited.netns}"
    shaping.set_rate("eth0", ns, ingress=10_000_000)
    assert shaping.get_rate("eth0", ns) == (0, 10_000_000)
    rate = measure(other, limited, 5003)
    assert 8_500_000 <= rate <= 11_500_000, f"{rate / 1e6:.1f} Mbit/s"
    # update: a new value replaces the old one; 0 removes it.
    shaping.set_rate("eth0", ns, ingress=0, egress=5_000_000)
    assert shaping.get_rate("eth0", ns) == (5_000_000, 0)
    shaping.set_rate("eth0", ns, egress=0)
    assert shaping.get_rate("eth0", ns) == (0, 0)


def test_unknown_interface_is_a_clear_error(pair: tuple[Endpoint, Endpoint]) -> None:
    from dockyard.errors import NotFound

    with pytest.raises(NotFound, match="no such network interface: eth9"):
        shaping.set_rate("eth9", f"/run/netns/{pair[0].netns}", egress=1_000_000)

