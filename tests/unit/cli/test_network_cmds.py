"""``network ls`` and ``network inspect`` output and exit codes, over a fake engine."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.cli import context
from dockyard.cli.main import main
from dockyard.errors import InvalidArgument, NotFound

NID = "a" * 64


class FakeNetworks:
    def __init__(self) -> None:
        self.filters: list[dict[str, list[str]]] = []

    def inspect(self, ref: str) -> dict[str, Any]:
        if ref == "ab":
            raise InvalidArgument("network ab is ambiguous (2 matches found)")
        if ref != "mine":
            raise NotFound(f"network {ref} not found")
        return {"Name": "mine", "Id": NID, "Labels": {"k": "é"}}

    def ls(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        self.filters.append(filters)
        return [{"Id": NID, "Name": "mine", "Driver": "bridge", "Scope": "local",
                 "EnableIPv6": False, "Internal": True, "Created": "2026-01-01",
                 "Labels": {"k": "v"}}]


@pytest.fixture
def nets(monkeypatch: pytest.MonkeyPatch) -> FakeNetworks:
    fake = FakeNetworks()

    class Engine:
        networks = fake

    monkeypatch.setattr(context.AppContext, "engine", lambda self: Engine())
    return fake


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_inspect_prints_found_then_one_line_per_failure(
        nets: FakeNetworks, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "network", "inspect", "mine", "nope", "ab")
    assert code == 1
    assert json.loads(out) == [{"Name": "mine", "Id": NID, "Labels": {"k": "é"}}]
    assert err == ("Error: No such network: nope\n"
                   "Error response from daemon: network ab is ambiguous (2 matches found)\n")


def test_inspect_format(nets: FakeNetworks, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "network", "inspect", "-f", "{{.Name}} {{.Labels.k}}", "mine") == (
        0, "mine é\n", "")


def test_ls_table_formats_and_filters(nets: FakeNetworks,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "network", "ls", "-f", "Label=k", "--filter", "name=mi")
    assert code == 0
    assert out == ("NETWORK ID     NAME      DRIVER    SCOPE\n"
                   f"{NID[:12]}   mine      bridge    local\n")
    assert nets.filters[-1] == {"label": ["k"], "name": ["mi"]}
    assert run(capsys, "network", "ls", "--format", "table {{.Name}}\\t{{.Internal}}")[1] == (
        "NAME      INTERNAL\nmine      true\n")
    assert run(capsys, "network", "ls", "-q", "--no-trunc")[1] == NID + "\n"
    code, _, err = run(capsys, "network", "ls", "-f", "novalue")
    assert code != 0 and "bad format of filter (expected name=value): novalue" in err
