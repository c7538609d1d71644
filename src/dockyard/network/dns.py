"""The embedded DNS server of user-defined networks (docker's 127.0.0.11).

Each container on a user network gets its own small server: a thread (in the
container's monitor) that binds 127.0.0.11:53, UDP and TCP, inside the container's
network namespace and then serves from there. It answers A queries for the names and
aliases of containers on the networks that container is on (``dns_records``), in
round robin when several share a name, and relays everything else to the host's
resolvers from the *host's* namespace, so loopback resolvers (127.0.0.53) work too.
No central daemon; the records are read from the network store's files when they
change.
"""

from __future__ import annotations

import _socket
import _thread

from dockyard.network import dns_wire as wire
from dockyard.network.dns_netns import in_netns

TYPE_CHECKING = False  # not typing's: the monitor imports this module
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    # name → addresses; None when the name is not one of ours (forward it).
    Lookup = Callable[[str], Sequence[str] | None]

__all__ = ["DNS_ADDRESS", "DnsServer", "host_resolvers"]

DNS_ADDRESS = "127.0.0.11"
UPSTREAM_TIMEOUT = 2.0
TCP_TIMEOUT = 5.0
MAX_FORWARDS = 16  # relays in flight; more are answered SERVFAIL at once
_INET, _UDP, _TCP = _socket.AF_INET, _socket.SOCK_DGRAM, _socket.SOCK_STREAM


def host_resolvers(path: str = "/etc/resolv.conf") -> list[str]:
    """The IPv4 ``nameserver`` lines of the host's resolv.conf, in order."""
    found: list[str] = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver" and "." in parts[1]:
                    found.append(parts[1])
    except FileNotFoundError:
        pass
    return found


class DnsServer:
    """Answers from ``lookup`` and relays the rest to ``upstreams`` (``ip`` or ``ip:port``)."""

    def __init__(self, lookup: Lookup, upstreams: Sequence[str],
                 ptr_lookup: Callable[[str], Sequence[str]] | None = None,
                 may_relay: Callable[[], bool] | None = None) -> None:
        self.lookup = lookup
        self.ptr_lookup = ptr_lookup
        self.may_relay = may_relay
        self.upstreams = [_hostport(u) for u in upstreams]
        self._turn: dict[str, int] = {}
        self._lock = _thread.allocate_lock()
        self._busy = 0
        self._udp: _socket.socket | None = None
        self._tcp: _socket.socket | None = None
        self._running = 0
        self._done = _thread.allocate_lock()

    # -- answering -------------------------------------------------------------------
    def respond(self, data: bytes, tcp: bool = False) -> bytes | None:
        """The reply to one query, or None when it must be relayed (or dropped)."""
        try:
            q = wire.parse_query(data)
        except wire.DnsFormatError:
            return wire.header_error(data, wire.FORMERR)
        if q.is_response:
            return None
        if q.opcode != 0:
            return wire.error(q, wire.NOTIMP)
        limit = 65535 if tcp else wire.UDP_LIMIT
        if q.qtype == wire.TYPE_PTR and self.ptr_lookup is not None:
            names = self.ptr_lookup(q.name)
            return wire.answer(q, ptr_names=names, limit=limit) if names else None
        found = self.lookup(q.name)
        if found is None:
            return None
        if q.qtype != wire.TYPE_A or q.qclass != wire.CLASS_IN:
            return wire.answer(q)  # a name of ours, no records of that type
        turn = self._turn.get(q.name, 0)
        self._turn[q.name] = turn + 1
        if len(self._turn) > 4096:  # bounded memory: forget old names
            self._turn.clear()
        k = turn % len(found) if found else 0
        return wire.answer(q, [*found[k:], *found[:k]], limit=limit)

    def relay(self, data: bytes, tcp: bool = False) -> bytes:
        """Ask the upstreams in order; SERVFAIL when none answers or relaying is off."""
        if self.may_relay is not None and not self.may_relay():
            return self.relay_refused(data)
        for addr in self.upstreams:
            try:
                reply = (_ask_tcp if tcp else _ask_udp)(addr, data)
            except OSError:
                continue
            if reply[:2] == data[:2]:
                return reply
        return self.relay_refused(data)

    @staticmethod
    def relay_refused(data: bytes) -> bytes:
        """SERVFAIL for a query that could not be relayed."""
        try:
            return wire.error(wire.parse_query(data), wire.SERVFAIL)
        except wire.DnsFormatError:
            return b""

    # -- serving ---------------------------------------------------------------------
    def start(self, netns: str | None, address: str = DNS_ADDRESS, port: int = 53) -> None:
        """Bind ``address:port`` in ``netns`` (a path; None = here) and serve in threads."""
        if netns:
            with in_netns(netns):
                udp, tcp = _socket.socket(_INET, _UDP), _socket.socket(_INET, _TCP)
        else:
            udp, tcp = _socket.socket(_INET, _UDP), _socket.socket(_INET, _TCP)
        try:
            tcp.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
            udp.bind((address, port))
            tcp.bind((address, port))
            tcp.listen(16)
        except OSError:
            udp.close()
            tcp.close()
            raise
        self._udp, self._tcp = udp, tcp
        self._running = 2
        self._done.acquire()
        _thread.start_new_thread(self._serve_udp, ())
        _thread.start_new_thread(self._serve_tcp, ())

    @property
    def address(self) -> tuple[str, int]:
        assert self._udp is not None
        name: tuple[str, int] = self._udp.getsockname()
        return name

    def stop(self) -> None:
        """Close the sockets and wait (a little) for the serving threads to end."""
        for sock in (self._udp, self._tcp):
            if sock is not None:
                try:
                    sock.shutdown(_socket.SHUT_RDWR)
                except OSError:
                    pass
        if self._running:
            self._done.acquire(True, 2.0)
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()

    def _ended(self) -> None:
        with self._lock:
            self._running -= 1
            if self._running == 0 and self._done.locked():
                self._done.release()

    def _serve_udp(self) -> None:
        sock = self._udp
        assert sock is not None
        try:
            while True:
                try:
                    data, peer = sock.recvfrom(4096)
                except OSError:
                    return
                if peer is None:
                    return
                reply = self.respond(data)
                if reply is not None:
                    _send(sock, reply, peer)
                elif not wire_is_response(data) and not self._spawn(
                        self._relay_udp, sock, data, peer):
                    _send(sock, self.relay_refused(data), peer)
        finally:
            self._ended()

    def _relay_udp(self, sock: _socket.socket, data: bytes, peer: tuple[str, int]) -> None:
        try:
            _send(sock, self.relay(data), peer)
        finally:
            self._release()

    def _serve_tcp(self) -> None:
        sock = self._tcp
        assert sock is not None
        try:
            while True:
                try:
                    fd, _ = sock._accept()  # type: ignore[attr-defined]
                except OSError:
                    return
                conn = _socket.socket(_INET, _TCP, 0, fd)
                if not self._spawn(self._one_tcp, conn):
                    conn.close()
        finally:
            self._ended()

    def _one_tcp(self, conn: _socket.socket) -> None:
        try:
            conn.settimeout(TCP_TIMEOUT)
            data = _recv_framed(conn)
            reply = self.respond(data, tcp=True)
            if reply is None:
                reply = self.relay(data, tcp=True)
            if reply:
                conn.sendall(len(reply).to_bytes(2, "big") + reply)
        except OSError:
            pass
        finally:
            conn.close()
            self._release()

    def _spawn(self, target: Callable[..., None], *args: object) -> bool:
        """Run ``target`` in a thread if a slot is free (it calls ``_release``)."""
        with self._lock:
            if self._busy >= MAX_FORWARDS:
                return False
            self._busy += 1
        _thread.start_new_thread(target, args)
        return True

    def _release(self) -> None:
        with self._lock:
            self._busy -= 1


def wire_is_response(data: bytes) -> bool:
    return len(data) < 3 or bool(data[2] & 0x80)


def _hostport(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    return (host, int(port)) if sep and "." in host else (text, 53)


def _send(sock: _socket.socket, data: bytes, peer: tuple[str, int]) -> None:
    if not data:
        return
    try:
        sock.sendto(data, peer)
    except OSError:
        pass


def _ask_udp(addr: tuple[str, int], data: bytes) -> bytes:
    s = _socket.socket(_INET, _UDP)
    try:
        s.settimeout(UPSTREAM_TIMEOUT)
        s.connect(addr)
        s.send(data)
        reply: bytes = s.recv(65535)
        return reply
    finally:
        s.close()


def _ask_tcp(addr: tuple[str, int], data: bytes) -> bytes:
    s = _socket.socket(_INET, _TCP)
    try:
        s.settimeout(UPSTREAM_TIMEOUT)
        s.connect(addr)
        s.sendall(len(data).to_bytes(2, "big") + data)
        return _recv_framed(s)
    finally:
        s.close()


def _recv_framed(conn: _socket.socket) -> bytes:
    size = int.from_bytes(_recv_exact(conn, 2), "big")
    return _recv_exact(conn, size)


def _recv_exact(conn: _socket.socket, size: int) -> bytes:
    buf = b""
    while len(buf) < size:
        chunk: bytes = conn.recv(size - len(buf))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        buf += chunk
    return buf


def monitor_config(netns: str, store_dir: str, cid: str,
                   resolv_conf: str = "/etc/resolv.conf",
                   dns: Sequence[str] | None = None) -> dict[str, object]:
    """What the engine puts under ``dns`` in a monitor's launch file for a container
    on a user network: its pinned namespace, the network store, the upstreams (the
    container's ``--dns`` servers if given, like docker, else the host's)."""
    chosen = [d for d in dns or () if "." in d] or host_resolvers(resolv_conf)
    upstreams = [u for u in chosen if u != DNS_ADDRESS]
    return {"netns": netns, "store": store_dir, "cid": cid, "upstreams": upstreams}


def start_from_config(cfg: dict[str, object],
                      loads: Callable[[str], object] | None = None) -> DnsServer:
    """The monitor's side: serve 127.0.0.11 in the container's namespace (threads
    that live as long as the monitor). ``loads`` is the monitor's light JSON reader."""
    from dockyard.network.dns_records import StoreRecords

    ups = cfg.get("upstreams")
    records = StoreRecords(str(cfg["store"]), str(cfg["cid"]), loads)
    server = DnsServer(records.lookup, [str(u) for u in ups] if isinstance(ups, list) else [],
                       records.ptr, records.may_relay)
    server.start(str(cfg["netns"]))
    return server
