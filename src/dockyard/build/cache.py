"""Cache keys: one digest per instruction covering everything that shapes its result.

A key chains the parent's key with the *expanded* instruction (not its text, line or
comments), the variables a RUN sees, and for COPY/ADD the content of the sources
after .dockerignore: paths, types, permission bits, sizes, bytes and link targets,
never timestamps (moby#21913), and never a file left out by .dockerignore. Because
every key includes the parent's, changing one step changes it and every step after
it, and nothing before. Secret values are not part of any key; only the mount spec is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import posixpath
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from dockyard.errors import Forbidden, NotFound

from .args import StageEnv
from .dockerignore import Pattern, PatternMatcher, go_clean, included_paths
from .instructions import (
    AddInstruction,
    ArgInstruction,
    CopyInstruction,
    EnvInstruction,
    Instruction,
    RunInstruction,
    ShellInstruction,
    Stage,
    UserInstruction,
    WorkdirInstruction,
)

__all__ = [
    "DigestMemo",
    "base_key",
    "content_digest",
    "instruction_payload",
    "resolve_sources",
    "stage_keys",
    "step_key",
]

_GLOB = frozenset("*?[\\")
_VOLATILE = ("original", "start_line", "end_line")


def _digest(obj: object) -> str:
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(data.encode("utf-8", "surrogateescape")).hexdigest()


def base_key(image_id: str, platform: str) -> str:
    """The key a stage starts from: its base image (``scratch`` for none) and platform."""
    return _digest({"base": image_id, "platform": platform})


def instruction_payload(inst: Instruction) -> dict[str, object]:
    """The instruction as data, without the text, lines or comments it came from."""
    data = dataclasses.asdict(inst)
    for key in _VOLATILE:
        data.pop(key, None)
    data["kind"] = type(inst).__name__
    return data


def step_key(parent: str, inst: Instruction, *, env: Mapping[str, str] | None = None,
             context: Mapping[str, object] | None = None) -> str:
    """The key of ``inst`` run on top of ``parent``.

    ``env`` is what a RUN sees (its ARGs and ENVs, so a changed build arg invalidates
    RUNs from its declaration on); ``context`` holds any other state the step depends
    on, such as the working directory, user, shell, a COPY's content digest or the key
    of a ``--from`` stage.
    """
    payload: dict[str, object] = {"parent": parent, "step": instruction_payload(inst)}
    if env is not None:
        payload["env"] = sorted(env.items())
    if context:
        payload["context"] = dict(context)
    return _digest(payload)


def _is_glob(path: str) -> bool:
    return any(ch in _GLOB for ch in path)


def _inside(root: Path, rel: str) -> str:
    cleaned = go_clean("/" + rel).lstrip("/")
    return cleaned or "."


def resolve_sources(root: Path, sources: Iterable[str],
                    matcher: PatternMatcher | None = None) -> list[str]:
    """The context paths COPY/ADD ``sources`` name, wildcards expanded, sorted.

    Paths are taken inside ``root`` (``../x`` cannot leave it); a source that matches
    nothing raises NotFound naming it, as ``docker build`` fails on it.
    """
    found: list[str] = []
    for src in sources:
        rel = _inside(root, src)
        if not _is_glob(rel):
            if rel != "." and (matcher is not None and matcher.matches(rel)):
                raise NotFound(f"failed to compute cache key: {src}: not found in build "
                               "context (excluded by .dockerignore)")
            if not os.path.lexists(root / rel):
                raise NotFound(f"failed to compute cache key: {src}: not found in build context")
            found.append(rel)
            continue
        pattern = Pattern(rel)
        hits = [p for p in _walk(root, "", matcher) if pattern.match(p)]
        if not hits:
            raise NotFound(f"failed to compute cache key: no source files were specified "
                           f"for pattern {src}")
        found += hits
    return sorted(set(found))


def _walk(root: Path, rel: str, matcher: PatternMatcher | None) -> Iterator[str]:
    if not os.path.isdir(root / rel if rel else root):
        return
    yield from included_paths(root, matcher or PatternMatcher([]), rel)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class DigestMemo:
    """Digests of big context files across builds, kept in a JSON file.

    An entry is used only while the file's device, inode, size, mtime *and* ctime (ns)
    are what they were when it was hashed: any write changes the ctime, which no user
    can set back, so a changed byte is always hashed again, while a file left alone
    is not read twice. Small files are not worth an entry.
    """

    MIN_SIZE = 256 << 10
    MAX_ENTRIES = 4096

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.entries: dict[str, list[object]] = {}
        self.changed = False
        if path is not None:
            with contextlib.suppress(OSError, ValueError, TypeError):
                loaded = json.loads(path.read_text())
                self.entries = {str(k): list(v) for k, v in dict(loaded).items()}

    def digest(self, path: Path, st: os.stat_result) -> str:
        """The sha256 (hex) of regular file ``path`` whose ``lstat`` is ``st``."""
        if st.st_size < self.MIN_SIZE:
            return _file_digest(path)
        key = f"{st.st_dev}:{st.st_ino}"
        stamp: list[object] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        found = self.entries.get(key)
        if found is not None and len(found) == 4 and found[:3] == stamp and \
                isinstance(found[3], str):
            return found[3]
        digest = _file_digest(path)
        after = os.lstat(path)
        if [after.st_size, after.st_mtime_ns, after.st_ctime_ns] == stamp:
            self.entries.pop(key, None)
            self.entries[key] = [*stamp, digest]
            self.changed = True
        return digest

    def save(self) -> None:
        """Write the entries back (the newest ``MAX_ENTRIES``), if any changed."""
        if self.path is None or not self.changed:
            return
        keep = dict(list(self.entries.items())[-self.MAX_ENTRIES:])
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{id(self)}")
        with contextlib.suppress(OSError):
            tmp.write_text(json.dumps(keep))
            os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            tmp.unlink()
        self.changed = False


def _record(root: Path, rel: str, memo: DigestMemo | None = None) -> list[object]:
    path = root / rel
    st = os.lstat(path)
    perm = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return [rel, "symlink", perm, os.readlink(path)]
    if stat.S_ISDIR(st.st_mode):
        return [rel, "dir", perm]
    if stat.S_ISREG(st.st_mode):
        digest = memo.digest(path, st) if memo is not None else _file_digest(path)
        return [rel, "file", perm, st.st_size, digest]
    return [rel, "other", stat.S_IFMT(st.st_mode), perm]


def content_digest(root: Path, paths: Iterable[str],
                   matcher: PatternMatcher | None = None,
                   memo: DigestMemo | None = None) -> str:
    """Digest of what COPY would take from ``root``: each path and all below it.

    Covers names, types, permission bits, sizes, contents and link targets; not
    timestamps, owners or inode numbers. Files .dockerignore leaves out do not count.
    ``memo`` spares re-reading big files that did not change since an earlier build.
    """
    root = root.resolve()
    records: list[object] = []
    for rel in sorted(set(paths)):
        rel = _inside(root, rel)
        target = (root / rel).resolve() if rel != "." else root
        if os.path.lexists(root / rel) and not os.path.islink(root / rel) and \
                root not in target.parents and target != root:
            raise Forbidden(f"{rel}: path leaves the build context")
        records.append(_record(root, rel, memo) if rel != "." else [".", "dir"])
        if os.path.isdir(root / rel) and not os.path.islink(root / rel):
            base = "" if rel == "." else rel
            records += [_record(root, p, memo) for p in _walk(root, base, matcher)]
    return _digest(records)


def stage_keys(stage: Stage, env: StageEnv, parent: str, context: Path | None = None,
               matcher: PatternMatcher | None = None,
               stage_results: Mapping[str, str] | None = None) -> list[str]:
    """The key of every instruction of ``stage``, in order, starting from ``parent``.

    ``env`` is advanced through the stage's ARGs and ENVs. COPY/ADD sources come from
    ``context`` (with ``matcher``) or, for ``--from``, from ``stage_results`` (stage
    name or index → the final key of that stage; other names are image references).
    """
    keys: list[str] = []
    state: dict[str, object] = {"workdir": "/", "user": "", "shell": ["/bin/sh", "-c"]}
    key = parent
    for inst in stage.commands:
        extra: dict[str, object] = {}
        run_env: Mapping[str, str] | None = None
        if isinstance(inst, ArgInstruction):
            extra["values"] = env.apply_arg(inst)
        elif isinstance(inst, EnvInstruction):
            extra["values"] = [dataclasses.astuple(kv) for kv in env.apply_env(inst)]
        else:
            inst = env.expand_instruction(inst)
            if isinstance(inst, RunInstruction):
                run_env = env.run_env()
                extra.update(state)
                extra["mounts"] = [dataclasses.astuple(m) for m in inst.mounts(env.expand)]
            elif isinstance(inst, CopyInstruction | AddInstruction):
                extra.update(workdir=state["workdir"])
                extra["sources"] = _sources_key(inst, context, matcher, stage_results)
            elif isinstance(inst, WorkdirInstruction):
                state["workdir"] = posixpath.join(str(state["workdir"]), inst.path)
            elif isinstance(inst, UserInstruction):
                state["user"] = inst.user
            elif isinstance(inst, ShellInstruction):
                state["shell"] = inst.shell
        key = step_key(key, inst, env=run_env, context=extra)
        keys.append(key)
    return keys


def _sources_key(inst: CopyInstruction | AddInstruction, context: Path | None,
                 matcher: PatternMatcher | None,
                 stage_results: Mapping[str, str] | None) -> object:
    from_ = inst.from_ if isinstance(inst, CopyInstruction) else ""
    if from_:
        results = stage_results or {}
        found = results.get(from_.lower())
        return {"stage": found} if found is not None else {"image": from_}
    local = [s for s in inst.sources if "://" not in s]
    remote = [s for s in inst.sources if "://" in s]
    if not local:
        return {"remote": remote}
    if context is None:
        raise NotFound(f"{inst.name.upper()} needs a build context for {local[0]}")
    paths = resolve_sources(context, local, matcher)
    return {"content": content_digest(context, paths, matcher), "remote": remote}
