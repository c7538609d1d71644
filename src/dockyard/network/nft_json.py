"""Talking to nftables: ``nft -j`` batches in, JSON listings out, and expression builders.

Only the few expressions the published-port and isolation rules need, written as
libnftables' JSON schema (``man libnftables-json``) so that no rule text is ever parsed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

from dockyard.errors import NotFound, SystemFailure

__all__ = [
    "FAMILY",
    "Expr",
    "dnat",
    "list_table",
    "match",
    "meta",
    "payload",
    "prefix",
    "run_batch",
]

FAMILY = "ip"
NFT = "nft"

Expr = dict[str, Any]


def run_batch(commands: Sequence[Expr]) -> None:
    """Apply ``commands`` (``{"add": {...}}`` …) as one atomic nft transaction."""
    if not commands:
        return
    doc = json.dumps({"nftables": list(commands)})
    try:
        out = subprocess.run([NFT, "-j", "-f", "-"], input=doc, capture_output=True,
                             text=True, timeout=30)
    except FileNotFoundError:
        raise SystemFailure("nft: command not found (install nftables)") from None
    if out.returncode != 0:
        first = (out.stderr.strip().splitlines() or ["failed"])[0]
        raise SystemFailure(f"nft: {first}")


def list_table(table: str) -> list[Expr]:
    """The objects (``{"chain": …}``, ``{"rule": …}``) of ``table``; NotFound if absent."""
    try:
        out = subprocess.run([NFT, "-j", "list", "table", FAMILY, table],
                             capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise SystemFailure("nft: command not found (install nftables)") from None
    if out.returncode != 0:
        if "No such file or directory" in out.stderr:
            raise NotFound(f"no such nftables table: {FAMILY} {table}")
        first = (out.stderr.strip().splitlines() or ["failed"])[0]
        raise SystemFailure(f"nft list table {table}: {first}")
    items: list[Expr] = json.loads(out.stdout).get("nftables", [])
    return [i for i in items if "metainfo" not in i]


def payload(protocol: str, field: str) -> Expr:
    return {"payload": {"protocol": protocol, "field": field}}


def meta(key: str) -> Expr:
    return {"meta": {"key": key}}


def prefix(cidr: str) -> Expr:
    addr, _, length = cidr.partition("/")
    return {"prefix": {"addr": addr, "len": int(length or 32)}}


def match(left: Expr, right: Any, op: str = "==") -> Expr:
    return {"match": {"op": op, "left": left, "right": right}}


def dnat(addr: str, port: int) -> Expr:
    return {"dnat": {"addr": addr, "port": port}}
