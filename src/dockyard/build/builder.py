"""The build driver: Dockerfile + context in, image out, through a :class:`StageExecutor`.

It parses, resolves the stage graph, walks each needed stage (independent stages in
parallel threads), expands every instruction with docker's scoping, computes its
cache key, asks the executor for a cached snapshot or the work, keeps the image
config and history, and commits the target once every step succeeded — so a failing
step leaves no tag moved and nothing half-built tagged.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dockyard.errors import DockyardError, InvalidArgument

from .args import Platform, StageEnv, default_args, global_args, unconsumed_build_args
from .cache import base_key, content_digest, resolve_sources, step_key
from .copyplan import kept_path, top_excluded
from .dockerignore import PatternMatcher, go_clean
from .executor import CopyRequest, CopySource, RunFailed, RunRequest, StageExecutor
from .fetch import Download, check_checksum, fetch_url, is_git_source, is_url
from .graph import StageGraph, StageNode, build_graph
from .imageconfig import ImageState, with_shell
from .instructions import (
    AddInstruction,
    ArgInstruction,
    CopyInstruction,
    EnvInstruction,
    Instruction,
    RunInstruction,
    WorkdirInstruction,
    parse_instruction,
    parse_stages,
)
from .mounts import Mount
from .parser import parse, parse_heredoc

__all__ = [
    "BuildOptions", "BuildResult", "Builder", "StepEvent", "StepFailed", "context_sources",
    "copy_dest", "run_args",
    "run_command_string",
]


class StepFailed(DockyardError):
    """A build step failed; carries the Dockerfile line, exit code and last output."""

    def __init__(self, message: str, line: int, exit_code: int = 0,
                 last_lines: list[str] | None = None) -> None:
        self.line = line
        self.exit_code = exit_code
        self.last_lines = last_lines or []
        super().__init__(message)


@dataclass
class BuildOptions:
    """What ``dockyard build`` was asked for."""

    dockerfile: str
    context: Path | None = None
    filename: str = "Dockerfile"
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    labels: Mapping[str, str] = field(default_factory=dict)
    no_cache: bool = False
    platform: Platform | None = None
    secrets: Mapping[str, Path] = field(default_factory=dict)
    ignore: PatternMatcher | None = None


@dataclass(frozen=True)
class StepEvent:
    """Progress of one step: ``[stage i/n] TEXT`` with CACHED and timing like BuildKit."""

    stage: str
    index: int
    total: int
    text: str
    cached: bool
    seconds: float


@dataclass
class BuildResult:
    """The committed image and what the build did."""

    image_id: str
    config: dict[str, Any]
    history: list[dict[str, Any]]
    events: list[StepEvent]
    warnings: list[str]


@dataclass
class _StageOut:
    snapshot: str | None
    key: str
    image: ImageState
    env: StageEnv


class Builder:
    """Runs builds against one executor; ``progress`` receives each finished step,
    ``started`` each step as it begins (``cached`` False, ``seconds`` 0)."""

    def __init__(self, executor: StageExecutor,
                 progress: Callable[[StepEvent], None] | None = None,
                 started: Callable[[StepEvent], None] | None = None) -> None:
        self.executor = executor
        self.progress = progress
        self.started = started
        self.events: list[StepEvent] = []
        self._downloads: Path | None = None
        self._lock = threading.Lock()

    def build(self, opts: BuildOptions) -> BuildResult:
        """Build ``opts.target`` (or the last stage) and commit it with ``opts.tags``."""
        try:
            return self._build(opts)
        finally:
            if self._downloads is not None:
                shutil.rmtree(self._downloads, ignore_errors=True)
                self._downloads = None

    def _build(self, opts: BuildOptions) -> BuildResult:
        parsed = parse(opts.dockerfile, opts.filename)
        stages, meta = parse_stages(parsed.ast, opts.filename)
        platform = opts.platform or Platform.host()
        defaults = default_args(Platform.host(), platform, opts.target or "", opts.build_args)
        genv = global_args(meta, opts.build_args, defaults)
        graph = build_graph(stages, genv, parsed.escape_token)
        target = graph.target(opts.target)
        self.events = []
        done: dict[int, _StageOut] = {}
        for wave in graph.levels(target):
            if len(wave) == 1:
                done[wave[0]] = self._stage(graph, graph.nodes[wave[0]], done, genv, opts,
                                            parsed.escape_token)
                continue
            with ThreadPoolExecutor(max_workers=len(wave)) as pool:
                futures = {i: pool.submit(self._stage, graph, graph.nodes[i], done, genv,
                                          opts, parsed.escape_token) for i in wave}
                for i, fut in futures.items():
                    done[i] = fut.result()
        out = done[target]
        if opts.labels:
            labels = dict(out.image.config.get("Labels") or {})
            labels.update(opts.labels)
            out.image.config["Labels"] = labels
        image_id = self.executor.commit(out.snapshot, out.image.config, out.image.history,
                                        opts.tags)
        declared = [k for o in done.values() for k in o.env.declared]
        declared += [k for m in meta for k, _ in m.args]
        warnings = []
        if unused := unconsumed_build_args(opts.build_args, declared):
            warnings.append(f"one or more build-args {unused} were not consumed")
        return BuildResult(image_id, out.image.config, out.image.history, list(self.events),
                           warnings)

    def _stage(self, graph: StageGraph, node: StageNode, done: Mapping[int, _StageOut],
               genv: Mapping[str, str], opts: BuildOptions, escape: str) -> _StageOut:
        if node.base_stage is not None:
            parent = done[node.base_stage]
            image = ImageState.from_base(parent.image.config, parent.image.history,
                                         parent.image.author)
            triggers = list(parent.image.config.get("OnBuild") or [])
            out = _StageOut(parent.snapshot, parent.key, image, parent.env.child())
        else:
            platform = node.platform or (opts.platform or Platform.host()).format()
            base = self.executor.resolve_image(node.base_image, platform)
            image = ImageState.from_base(base.config, base.history)
            triggers = list(base.config.get("OnBuild") or [])
            env = StageEnv.from_image(base.config.get("Env") or [], genv, opts.build_args,
                                      escape)
            out = _StageOut(base.snapshot, base_key(base.image_id, platform), image, env)
        commands = [self._trigger(t) for t in triggers] + list(node.stage.commands)
        total = len(commands)
        for index, inst in enumerate(commands, 1):
            if self.started is not None:
                self.started(StepEvent(node.display_name, index, total,
                                       inst.original.split("\n")[0], False, 0.0))
            started = time.monotonic()
            cached = self._step(graph, node, out, inst, done, opts)
            event = StepEvent(node.display_name, index, total, inst.original.split("\n")[0],
                              cached, time.monotonic() - started)
            self.events.append(event)
            if self.progress is not None:
                self.progress(event)
        return out

    @staticmethod
    def _trigger(expression: str) -> Instruction:
        item = parse_instruction(parse(expression).ast.children[0])
        if not isinstance(item, Instruction):
            raise InvalidArgument(f"onbuild trigger {expression!r} is not an instruction")
        return item

    def _step(self, graph: StageGraph, node: StageNode, out: _StageOut, inst: Instruction,
              done: Mapping[int, _StageOut], opts: BuildOptions) -> bool:
        env, image = out.env, out.image
        if isinstance(inst, ArgInstruction):
            values = env.apply_arg(inst)
            out.key = step_key(out.key, inst, context={"values": values})
            image.add_history("ARG " + " ".join(k if v is None else f"{k}={v}"
                                                for k, v in values), layer=False)
            return False
        if isinstance(inst, EnvInstruction):
            pairs = env.apply_env(inst)
            out.key = step_key(out.key, inst, context={"values": [(p.key, p.value)
                                                                  for p in pairs]})
            image.set_env(pairs)
            return False
        inst = env.expand_instruction(inst)
        workdir = image.config.get("WorkingDir") or "/"
        if isinstance(inst, RunInstruction):
            return self._run(out, inst, workdir, graph, done, opts)
        if isinstance(inst, CopyInstruction | AddInstruction):
            return self._copy(out, inst, workdir, graph, done, opts)
        image.apply(inst)
        out.key = step_key(out.key, inst)
        if isinstance(inst, WorkdirInstruction) and image.config["WorkingDir"] != "/":
            # BuildKit creates the directory as a layer of its own
            image.history[-1].pop("empty_layer", None)
            request = CopyRequest(out.key, out.snapshot, image.config["WorkingDir"],
                                  workdir=image.config["WorkingDir"],
                                  chown=image.config.get("User") or "")
            return self._execute(out, request, inst, opts.no_cache)
        return False

    def _execute(self, out: _StageOut, request: RunRequest | CopyRequest,
                 inst: Instruction, no_cache: bool) -> bool:
        if not no_cache and (hit := self.executor.cached(request.cache_key)) is not None:
            out.snapshot = hit
            return True
        try:
            if isinstance(request, RunRequest):
                out.snapshot = self.executor.run(request)
            else:
                out.snapshot = self.executor.copy(request)
        except RunFailed as err:
            raise StepFailed(
                f"process {' '.join(request.args)!r} did not complete successfully: "
                f"exit code: {err.exit_code}" if isinstance(request, RunRequest) else str(err),
                inst.start_line, err.exit_code, err.last_lines) from None
        return False

    def _run(self, out: _StageOut, inst: RunInstruction, workdir: str, graph: StageGraph,
             done: Mapping[int, _StageOut], opts: BuildOptions) -> bool:
        args, files = run_args(inst, out.image.config)
        mounts = inst.mounts(out.env.expand)
        froms: dict[str, str | None] = {}
        for m in mounts:
            if m.from_:
                froms[m.from_] = self._source_snapshot(graph, m.from_, done, opts)
        run_env = out.env.run_env()
        out.key = step_key(out.key, inst, env=run_env, context={
            "workdir": workdir, "user": out.image.config.get("User") or "",
            "shell": out.image.config.get("Shell"),
            "froms": {k: self._source_key(graph, k, done) for k in froms},
            "binds": bind_digests(mounts, opts)})
        request = RunRequest(out.key, out.snapshot, args, run_env, workdir,
                             out.image.config.get("User") or "", mounts, inst.network,
                             dict(opts.secrets), files, froms)
        cached = self._execute(out, request, inst, opts.no_cache)
        out.image.add_history("RUN " + run_command_string(args, out.env), layer=True)
        return cached

    def _copy(self, out: _StageOut, inst: CopyInstruction | AddInstruction, workdir: str,
              graph: StageGraph, done: Mapping[int, _StageOut], opts: BuildOptions) -> bool:
        dest = copy_dest(workdir, inst.dest)
        from_ = inst.from_ if isinstance(inst, CopyInstruction) else ""
        if isinstance(inst, CopyInstruction) and not from_ and any(map(is_url, inst.sources)):
            raise InvalidArgument("source can't be a URL for COPY")
        if isinstance(inst, AddInstruction):
            for src in inst.sources:
                if is_git_source(src):
                    raise InvalidArgument(f"ADD {src}: git repositories as sources are not "
                                          "supported (no git client in the builder)")
        urls = [s for s in inst.sources if is_url(s)] if isinstance(inst, AddInstruction) else []
        local = [s for s in inst.sources if s not in urls]
        checksum = getattr(inst, "checksum", "")
        if checksum:
            if len(inst.sources) != 1:
                raise InvalidArgument("checksum can't be specified for multiple sources")
            if not urls:
                raise InvalidArgument("checksum can't be specified for non-HTTP(S) sources")
            check_checksum(checksum)
        sources: list[CopySource] = []
        downloads = [self._fetch(u, checksum) for u in urls]
        context_key: object = [d.digest for d in downloads] or None
        if from_:
            snap = self._source_snapshot(graph, from_, done, opts)
            sources.append(CopySource(local, snapshot=snap))
            context_key = self._source_key(graph, from_, done)
        elif local:
            if opts.context is None:
                raise InvalidArgument(f"{inst.name.upper()} {local[0]}: no build context")
            paths, kept = context_sources(opts.context, local, opts.ignore, inst.excludes,
                                          getattr(inst, "parents", False))
            sources.append(CopySource(paths, root=opts.context, kept=kept))
            context_key = [content_digest(opts.context, paths, opts.ignore), context_key]
        contents = {c.path: c.data for c in inst.contents}
        out.key = step_key(out.key, inst, context={"workdir": workdir, "sources": context_key})
        request = CopyRequest(
            out.key, out.snapshot, dest, workdir, sources, urls, contents, inst.chown,
            inst.chmod, inst.link, getattr(inst, "parents", False), inst.excludes,
            isinstance(inst, AddInstruction) and inst.unpack is not False, checksum, downloads,
            isinstance(inst, AddInstruction) and inst.unpack is True)
        cached = self._execute(out, request, inst, opts.no_cache)
        words = [inst.name.upper()]
        if getattr(inst, "parents", False):
            words.append("--parents")
        words += [f"--chown={inst.chown}"] if inst.chown else []
        words += [f"--chmod={inst.chmod}"] if inst.chmod else []
        words += [*inst.sources, *("<<" + c.path for c in inst.contents), inst.dest]
        out.image.add_history(" ".join(words), layer=True)
        return cached

    def _fetch(self, url: str, checksum: str) -> Download:
        """Fetch an ADD URL into a directory of this build's (removed when it ends)."""
        import tempfile

        with self._lock:
            if self._downloads is None:
                self._downloads = Path(tempfile.mkdtemp(prefix="dockyard-add-"))
            into = self._downloads / str(len(list(self._downloads.iterdir())))
            into.mkdir()
        return fetch_url(url, into, checksum)

    def _source_index(self, graph: StageGraph, ref: str) -> int | None:
        if ref.lstrip("-").isdigit():
            return int(ref)
        for n in graph.nodes:
            if n.stage.name and n.stage.name == ref.lower():
                return n.index
        return None

    def _source_snapshot(self, graph: StageGraph, ref: str, done: Mapping[int, _StageOut],
                         opts: BuildOptions) -> str | None:
        index = self._source_index(graph, ref)
        if index is not None:
            return done[index].snapshot
        platform = (opts.platform or Platform.host()).format()
        return self.executor.resolve_image(ref, platform).snapshot

    def _source_key(self, graph: StageGraph, ref: str, done: Mapping[int, _StageOut]) -> str:
        index = self._source_index(graph, ref)
        return done[index].key if index is not None else "image:" + ref


def context_sources(context: Path, sources: list[str], ignore: PatternMatcher | None,
                    excludes: list[str], parents: bool) -> tuple[list[str], list[str]]:
    """Context paths of COPY/ADD ``sources`` after ``--exclude``, sorted, and with
    ``--parents`` the path each keeps under the destination."""
    drop = PatternMatcher(excludes) if excludes else None
    found: dict[str, str] = {}
    for src in sources:
        hits = resolve_sources(context, [src], ignore)
        for hit in hits:
            if drop is not None and top_excluded(hit, src, drop):
                continue
            found.setdefault(hit, kept_path(hit, src) if parents else "")
    paths = sorted(found)
    return paths, [found[p] for p in paths] if parents else []


def bind_digests(mounts: list[Mount], opts: BuildOptions) -> list[str]:
    """The content of the context each ``RUN --mount=type=bind`` shows (after
    .dockerignore): a changed file there changes the step, as in BuildKit."""
    out = []
    for m in mounts:
        if m.type != "bind" or m.from_ or opts.context is None:
            continue
        rel = go_clean("/" + (m.source or ".")).lstrip("/") or "."
        ignored = rel != "." and opts.ignore is not None and opts.ignore.matches(rel)
        if os.path.lexists(opts.context / rel) and not ignored:
            out.append(content_digest(opts.context, [rel], opts.ignore))
    return out


def copy_dest(workdir: str, dest: str) -> str:
    """BuildKit's ``NormalizePath`` with kept slashes: relative to the working dir."""
    new = dest if dest.startswith("/") else posixpath.normpath(posixpath.join(workdir, dest))
    if dest.endswith("/") and not new.endswith("/"):
        new += "/"
    elif dest.endswith("/."):
        new = (new if new == "/" else new + "/") + "."
    return new


def run_command_string(args: list[str], env: StageEnv) -> str:
    """BuildKit's RUN history text: ``|N K=V ... argv`` listing the stage's ARGs."""
    pairs: dict[str, str] = {}
    for key in env.declared:
        pairs[key] = env.env.get(key, "")
    prefix = [f"|{len(pairs)}", *(f"{k}={v}" for k, v in pairs.items())] if pairs else []
    return " ".join([*prefix, *args])


def run_args(inst: RunInstruction, config: Mapping[str, Any]) -> tuple[list[str],
                                                                       dict[str, str]]:
    """The argv of a RUN and the heredoc scripts it needs mounted (BuildKit's rules)."""
    args = list(inst.cmd_line or [])
    files: dict[str, str] = {}
    if inst.files:
        if len(args) != 1 or not inst.prepend_shell:
            raise InvalidArgument(f"parsing produced an invalid run command: {args}")
        doc = parse_heredoc(args[0])
        if doc is not None:
            first = inst.files[0]
            data = first.data
            if first.chomp:
                data = "\n".join(line.lstrip("\t") for line in data.split("\n"))
            if data.startswith("#!"):
                files[first.name] = data
                args = [posixpath.join("/dev/pipes/", first.name)]
            else:
                args = [data]
        else:
            args = [args[0] + "".join("\n" + f.data + f.name for f in inst.files)]
    if inst.prepend_shell:
        args = with_shell(config, args)
    return args, files
