"""Talking to nftables: JSON batches in, JSON listings out, and expression builders.

The JSON is libnftables' schema (``man libnftables-json``), so no rule text is ever
built or parsed. It goes to libnftables in-process through ctypes when the library is
there (about 1 ms a command) and to ``nft -j`` otherwise (a process each, 5-15 ms):
``run --rm`` makes several of these calls. ``DOCKYARD_NFT=command`` forces the latter.
"""

from __future__ import annotations

import json
import os
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
    "nft",
    "payload",
    "prefix",
    "run_batch",
]

FAMILY = "ip"
NFT = "nft"
_JSON_OUTPUT = 1 << 4  # NFT_CTX_OUTPUT_JSON; with it set, input is read as JSON too

Expr = dict[str, Any]
_lib: Any = None


def _library() -> Any:
    """libnftables through ctypes, or False when it cannot be loaded."""
    global _lib
    if _lib is None:
        _lib = False
        if os.environ.get("DOCKYARD_NFT", "") != "command":
            import ctypes

            try:
                lib = ctypes.CDLL("libnftables.so.1")
            except OSError:
                return _lib
            lib.nft_ctx_new.restype = ctypes.c_void_p
            lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
            for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error", "nft_ctx_free"):
                getattr(lib, name).argtypes = [ctypes.c_void_p]
            lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
            for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
                getattr(lib, name).restype = ctypes.c_char_p
                getattr(lib, name).argtypes = [ctypes.c_void_p]
            lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            _lib = lib
    return _lib


def nft(command: str) -> tuple[int, str, str]:
    """Run one nft command (text like ``list table ip x``, or a JSON document);
    returns (status, JSON output, error text)."""
    lib = _library()
    if lib:
        ctx = lib.nft_ctx_new(0)
        if not ctx:
            raise SystemFailure("libnftables: cannot create a context")
        try:
            lib.nft_ctx_output_set_flags(ctx, _JSON_OUTPUT)
            lib.nft_ctx_buffer_output(ctx)
            lib.nft_ctx_buffer_error(ctx)
            rc = lib.nft_run_cmd_from_buffer(ctx, command.encode())
            out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode()
            err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode()
        finally:
            lib.nft_ctx_free(ctx)
        return (0 if rc == 0 else 1), out, err
    try:
        args = [NFT, "-j", "-f", "-"] if command.startswith("{") else [NFT, "-j", *command.split()]
        done = subprocess.run(args, input=command if command.startswith("{") else None,
                              capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise SystemFailure("nft: command not found (install nftables)") from None
    return done.returncode, done.stdout, done.stderr


def _first_line(err: str) -> str:
    return (err.strip().splitlines() or ["failed"])[0]


def run_batch(commands: Sequence[Expr]) -> None:
    """Apply ``commands`` (``{"add": {...}}`` …) as one atomic nft transaction."""
    if not commands:
        return
    rc, _, err = nft(json.dumps({"nftables": list(commands)}))
    if rc != 0:
        raise SystemFailure(f"nft: {_first_line(err)}")


def list_table(table: str) -> list[Expr]:
    """The objects (``{"chain": …}``, ``{"rule": …}``) of ``table``; NotFound if absent."""
    rc, out, err = nft(f"list table {FAMILY} {table}")
    if rc != 0:
        if "No such file or directory" in err:
            raise NotFound(f"no such nftables table: {FAMILY} {table}")
        raise SystemFailure(f"nft list table {table}: {_first_line(err)}")
    items: list[Expr] = json.loads(out).get("nftables", [])
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


# Loaded with the module (only code about to call nft imports it): a warm engine imports
# every module before it forks its workers, which then find the library loaded instead
# of paying 2-7 ms for it on their first rule.
_library()
