"""docker cp's destination rules."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument, NotFound
from dockyard.volumes.cpplan import Plan, plan, split_contents


@pytest.mark.parametrize(("args", "want"), [
    # file source
    (("f", False, False, "/d", "dir", True), Plan("/d", None)),
    (("f", False, False, "/d/g", "file", True), Plan("/d", ("f", "g"))),
    (("f", False, False, "/d/new", "", True), Plan("/d", ("f", "new"))),
    # directory source
    (("s", True, False, "/d", "dir", True), Plan("/d", None)),
    (("s", True, True, "/d", "dir", True), Plan("/d", ("s", "."))),
    (("s", True, False, "/d/new", "", True), Plan("/d", ("s", "new"))),
    (("s", True, True, "/d/new", "", True), Plan("/d", ("s", "new"))),
    (("s", True, False, "/d/new/", "", True), Plan("/d", ("s", "new"))),
    (("f", False, False, "/", "dir", True), Plan("/", None)),
])
def test_plans(args: tuple[str, bool, bool, str, str, bool], want: Plan) -> None:
    assert plan(*args) == want


@pytest.mark.parametrize(("args", "error"), [
    (("s", True, False, "/d/f", "file", True), InvalidArgument),
    (("f", False, False, "/d/f/", "file", True), InvalidArgument),
    (("f", False, False, "/d/new/", "", True), NotFound),
    (("f", False, False, "/nope/new", "", False), NotFound),
])
def test_refusals(args: tuple[str, bool, bool, str, str, bool], error: type) -> None:
    with pytest.raises(error):
        plan(*args)


@pytest.mark.parametrize(("path", "want"), [
    ("/a/b/.", ("/a/b", True)), ("/a/b/./", ("/a/b", True)), ("/.", ("/", True)),
    ("/a/b", ("/a/b", False)), ("/a/b/", ("/a/b/", False)), (".", (".", True)),
    ("/a/.b", ("/a/.b", False)),
])
def test_split_contents(path: str, want: tuple[str, bool]) -> None:
    assert split_contents(path) == want
