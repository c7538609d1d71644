"""Stage graph: target, skipped stages, parallel waves, references and cycles."""

from __future__ import annotations

import pytest

from dockyard.build.args import Platform, default_args, global_args
from dockyard.build.graph import StageGraph, build_graph
from dockyard.build.instructions import parse_stages
from dockyard.build.parser import parse
from dockyard.errors import InvalidArgument, NotFound

MULTI = """\
ARG BASE=busybox
FROM $BASE AS deps
RUN echo deps
FROM busybox AS tools
RUN echo tools
FROM deps AS build
COPY --from=tools /bin/x /bin/x
RUN --mount=type=bind,from=Docs,target=/d cat /d/x
FROM alpine AS docs
FROM scratch AS unused
COPY --from=nginx:latest /etc/nginx /x
FROM scratch
COPY --from=build /out /out
COPY --from=2 /y /y
"""


def graph_of(text: str) -> StageGraph:
    stages, meta = parse_stages(parse(text).ast)
    amd = Platform("linux", "amd64")
    return build_graph(stages, global_args(meta, {}, default_args(amd, amd)))


def test_resolution_and_images() -> None:
    g = graph_of(MULTI)
    assert [n.base_image for n in g.nodes] == [
        "busybox", "busybox", "deps", "alpine", "scratch", "scratch"]
    assert [n.base_stage for n in g.nodes] == [None, None, 0, None, None, None]
    assert g.nodes[2].deps == {1: 7, 3: 8}
    assert g.nodes[4].images == ["nginx:latest"]
    assert g.nodes[5].deps == {2: 13} and g.nodes[5].display_name == "stage-5"


def test_target_reaches_only_what_it_needs() -> None:
    g = graph_of(MULTI)
    last = g.target()
    assert last == 5
    assert g.needed(last) == [0, 1, 3, 2, 5]          # "unused" (4) is skipped
    assert g.levels(last) == [[0, 1, 3], [2], [5]]    # deps, tools, docs in parallel
    assert g.needed(g.target("tools")) == [1]
    assert g.target("BUILD") == 2


def test_unknown_target_names_it_and_suggests() -> None:
    with pytest.raises(NotFound, match='target stage "buidl" could not be found '
                                       r'\(did you mean build\?\)'):
        graph_of(MULTI).target("buidl")


def test_from_refers_only_to_earlier_stages_by_exact_name() -> None:
    g = graph_of("FROM later\nFROM busybox AS later\nFROM Later\nFROM later\n")
    assert [n.base_stage for n in g.nodes] == [None, None, None, 1]


def test_copy_from_variables_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="variable expansion is not supported for --from"):
        graph_of("FROM a\nCOPY --from=$X /a /b\n")


def test_bad_stage_index() -> None:
    with pytest.raises(InvalidArgument, match="invalid stage index 5"):
        graph_of("FROM a\nCOPY --from=5 /a /b\n")


@pytest.mark.parametrize("text", [
    "FROM a AS one\nCOPY --from=two /a /b\nFROM a AS two\nCOPY --from=one /a /b\n",
    "FROM a AS self\nCOPY --from=self /a /b\n",
    "FROM a AS x\nRUN --mount=from=y,target=/y true\nFROM x AS y\n",
])
def test_cycles_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument, match="circular dependency detected on stage"):
        graph_of(text)


def test_blank_base_name() -> None:
    with pytest.raises(InvalidArgument, match="base name"):
        graph_of("ARG B\nFROM $B\n")
