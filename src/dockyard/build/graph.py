"""Which stages a build needs, in which order, and which can run side by side.

Resolution follows BuildKit: ``FROM name`` refers to an *earlier* stage named exactly
``name``; ``COPY --from=name|N`` and ``RUN --mount=from=name`` may name any stage
(case-insensitive) or a stage index, and anything else is an image reference. The
target is ``--target`` or the last stage; stages it does not reach are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dockyard.errors import InvalidArgument, NotFound

from .args import check_copy_from, expand_stage_base
from .flags import suggest
from .instructions import CopyInstruction, RunInstruction, Stage

__all__ = ["StageGraph", "StageNode", "build_graph"]


@dataclass
class StageNode:
    """One stage with what it depends on.

    ``base_stage`` is the index of the stage it is built ``FROM`` (None for an
    image, ``base_image``); ``deps`` maps each stage index it needs to the first line
    needing it; ``images`` are the other images its COPY/RUN take files from.
    """

    index: int
    stage: Stage
    base_image: str
    platform: str
    base_stage: int | None = None
    deps: dict[int, int] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)

    @property
    def display_name(self) -> str:
        """The name BuildKit shows for it: its own, or ``stage-N``."""
        return self.stage.name or f"stage-{self.index}"


@dataclass
class StageGraph:
    """All stages of a Dockerfile with their dependencies."""

    nodes: list[StageNode]

    def target(self, name: str | None = None) -> int:
        """The index of ``--target name`` (last stage when None)."""
        if not self.nodes:
            raise InvalidArgument("dockerfile contains no stages to build")
        if not name:
            return len(self.nodes) - 1
        found = self._by_name(name)
        if found is None:
            names = [n.stage.name for n in self.nodes if n.stage.name]
            raise NotFound(suggest(f'target stage "{name}" could not be found', name, names,
                                   case_sensitive=True))
        return found

    def needed(self, target: int) -> list[int]:
        """The stages ``target`` reaches, dependencies first (unused ones left out)."""
        order: list[int] = []
        seen: set[int] = set()

        def visit(i: int) -> None:
            if i in seen:
                return
            seen.add(i)
            for dep in sorted(self._edges(i)):
                visit(dep)
            order.append(i)

        visit(target)
        return order

    def levels(self, target: int) -> list[list[int]]:
        """Group the needed stages into waves; the stages of one wave are independent."""
        depth: dict[int, int] = {}
        for i in self.needed(target):
            depth[i] = 1 + max((depth[d] for d in self._edges(i)), default=-1)
        waves: list[list[int]] = [[] for _ in range(max(depth.values()) + 1)]
        for i, d in sorted(depth.items()):
            waves[d].append(i)
        return waves

    def _edges(self, i: int) -> set[int]:
        node = self.nodes[i]
        deps = set(node.deps)
        if node.base_stage is not None:
            deps.add(node.base_stage)
        return deps

    def _by_name(self, name: str) -> int | None:
        for node in self.nodes:
            if node.stage.name and node.stage.name == name.lower():
                return node.index
        return None


def _source_ref(graph: StageGraph, ref: str) -> int | None:
    if ref.isdigit() or (ref.startswith("-") and ref[1:].isdigit()):
        index = int(ref)
        if not 0 <= index < len(graph.nodes):
            raise InvalidArgument(f"invalid stage index {index}")
        return index
    return graph._by_name(ref)


def build_graph(stages: list[Stage], global_env: dict[str, str],
                escape: str = "\\") -> StageGraph:
    """Resolve every stage's base and sources; refuse dependency cycles."""
    graph = StageGraph([])
    names: dict[str, int] = {}
    for i, stage in enumerate(stages):
        base, platform = expand_stage_base(stage, global_env, escape)
        node = StageNode(i, stage, base, platform, base_stage=names.get(base))
        graph.nodes.append(node)
        if stage.name:
            names[stage.name] = i
    for node in graph.nodes:
        for inst in node.stage.commands:
            refs: list[str] = []
            if isinstance(inst, CopyInstruction) and inst.from_:
                refs.append(check_copy_from(inst.from_))
            elif isinstance(inst, RunInstruction):
                refs += [m.from_ for m in inst.mounts() if m.from_]
            for ref in refs:
                dep = _source_ref(graph, ref)
                if dep is None:
                    if ref not in node.images:
                        node.images.append(ref)
                else:
                    node.deps.setdefault(dep, inst.start_line)
    _check_cycles(graph)
    return graph


def _check_cycles(graph: StageGraph) -> None:
    state: dict[int, int] = {}  # 1 = on the current path, 2 = done

    def visit(i: int) -> int | None:
        state[i] = 1
        for dep in sorted(graph._edges(i)):
            if state.get(dep) == 1:
                return graph.nodes[i].deps.get(dep, graph.nodes[i].stage.start_line)
            if dep not in state and (line := visit(dep)) is not None:
                return line
        state[i] = 2
        return None

    for node in graph.nodes:
        if node.index not in state and (line := visit(node.index)) is not None:
            raise InvalidArgument(
                f"circular dependency detected on stage: {node.display_name} (line {line})")
