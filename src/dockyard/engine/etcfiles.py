"""The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf, as dockerd writes
them into the container's directory before bind-mounting them in."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["hostname_file", "hosts_file", "resolv_conf"]

_BASE_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
               "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n"
               "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")  # dockerd 20.10's
_LOCAL_NS = re.compile(r"^[ \t]*nameserver[ \t]+(127\.\S*|::1)[ \t]*(\n|$)", re.M)
_ANY_NS = re.compile(r"^\s*nameserver\s", re.M)  # compiled once: warm workers inherit it
_BLANK_RUN = re.compile(r"\n{3,}")
_DEFAULT_NS = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


def hostname_file(hostname: str) -> str:
    return hostname + "\n"


def hosts_file(network_mode: str, hostname: str, address: str = "",
               extra_hosts: list[str] | None = None,
               host_hosts: Path = Path("/etc/hosts")) -> str:
    """Docker's hosts file: the host's for --network host, else the localhost block,
    ``--add-host`` entries, and the container's own address when it has one."""
    if network_mode == "host":
        try:
            return host_hosts.read_text()
        except OSError:
            return _BASE_HOSTS
    text = _BASE_HOSTS
    for entry in extra_hosts or []:
        name, _, ip = entry.partition(":")
        text += f"{ip}\t{name}\n"
    if address:
        text += f"{address}\t{hostname}\n"
    return text


def resolv_conf(network_mode: str, host_resolv: Path = Path("/etc/resolv.conf"), *,
                embedded_dns: bool = False, dns: list[str] | None = None,
                search: list[str] | None = None, options: list[str] | None = None) -> str:
    """dockerd's resolv.conf for a container.

    The host's file; outside the host's network, loopback nameservers do not answer, so
    they are dropped (and Google's used if none is left). ``--dns``, ``--dns-search``
    and ``--dns-option`` rebuild it (each replacing what the host's file has). On user
    networks (``embedded_dns``) the nameserver is the embedded resolver at 127.0.0.11
    with ``ndots:0`` added, the host's search and options kept.
    """
    try:
        text = host_resolv.read_text()
    except OSError:
        text = ""
    if network_mode == "host" and not (dns or search or options):
        return text
    filtered = _LOCAL_NS.sub("", text)
    if not _ANY_NS.search(filtered):
        filtered = filtered.rstrip("\n") + ("\n" if filtered.strip() else "") + _DEFAULT_NS
    filtered = _BLANK_RUN.sub("\n\n", filtered)
    if not (dns or search or options or embedded_dns):
        return filtered
    servers = list(dns or _values(filtered, "nameserver"))
    domains = list(search or _last_values(filtered, "search"))
    opts = list(options or _last_values(filtered, "options"))
    if embedded_dns:
        servers = ["127.0.0.11"]
        if not any(o.startswith("ndots:") for o in opts):
            opts.append("ndots:0")
    out = ""
    if domains and " ".join(domains).strip() != ".":
        out += "search " + " ".join(domains) + "\n"
    out += "".join(f"nameserver {s}\n" for s in servers)
    if opts:
        out += "options " + " ".join(opts) + "\n"
    return out


def _values(text: str, key: str) -> list[str]:
    """The first argument of every ``key`` line."""
    return [line.split()[1] for line in text.splitlines()
            if len(line.split()) > 1 and line.split()[0] == key]


def _last_values(text: str, key: str) -> list[str]:
    """All arguments of the last ``key`` line (resolv.conf's rule for search/options)."""
    found: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == key:
            found = parts[1:]
    return found
