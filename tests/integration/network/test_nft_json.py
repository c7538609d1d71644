"""Both ways of reaching nftables (libnftables in-process, the nft command) behave alike."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from dockyard.errors import NotFound, SystemFailure
from dockyard.network import nft_json


@pytest.fixture(params=["library", "command"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
         session_token: str) -> Iterator[str]:
    monkeypatch.setattr(nft_json, "_lib", None)
    monkeypatch.setenv("DOCKYARD_NFT", "" if request.param == "library" else "command")
    if request.param == "library" and not nft_json._library():
        pytest.skip("libnftables.so.1 is not installed")
    table = f"dyjson_{session_token}"
    yield table
    subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)


def test_batch_list_and_errors(mode: str) -> None:
    table = mode
    with pytest.raises(NotFound, match=f"no such nftables table: ip {table}"):
        nft_json.list_table(table)
    nft_json.run_batch([
        {"add": {"table": {"family": "ip", "name": table}}},
        {"add": {"chain": {"family": "ip", "table": table, "name": "c"}}},
        {"add": {"rule": {"family": "ip", "table": table, "chain": "c", "comment": "x y",
                          "expr": [nft_json.match(nft_json.payload("tcp", "dport"), 80),
                                   {"accept": None}]}}},
    ])
    items = nft_json.list_table(table)
    rules = [i["rule"] for i in items if "rule" in i]
    assert [r["comment"] for r in rules] == ["x y"] and isinstance(rules[0]["handle"], int)
    assert any(i.get("chain", {}).get("name") == "c" for i in items)
    with pytest.raises(SystemFailure) as err:
        nft_json.run_batch([{"add": {"rule": {"family": "ip", "table": table, "chain": "none",
                                              "expr": [{"accept": None}]}}}])
    assert str(err.value).startswith("nft: ") and "\n" not in str(err.value)
    nft_json.run_batch([])  # nothing to do is fine
