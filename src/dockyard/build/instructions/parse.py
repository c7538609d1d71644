"""Typed instructions from the syntax tree, and the tree cut into build stages.

Each instruction checks its arguments and flags the way BuildKit's ``instructions``
package does, with the same messages, prefixed ``dockerfile parse error on line N``.
Values are not expanded here: :mod:`dockyard.build.args` knows which fields docker
expands and with which variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dockyard.errors import InvalidArgument

from ..flags import BuildFlags, parse_go_duration, suggest
from ..mounts import parse_mount
from ..parser import DockerfileSyntaxError, Heredoc, Node, parse_heredoc
from .model import (
    AddInstruction,
    ArgInstruction,
    CmdInstruction,
    CopyInstruction,
    EntrypointInstruction,
    EnvInstruction,
    ExposeInstruction,
    HealthcheckInstruction,
    InlineFile,
    Instruction,
    KeyValue,
    LabelInstruction,
    MaintainerInstruction,
    OnbuildInstruction,
    RunInstruction,
    ShellInstruction,
    SourceContent,
    Stage,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
)

__all__ = ["INSTRUCTIONS", "parse_instruction", "parse_stages"]

INSTRUCTIONS = ("add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from",
                "healthcheck", "label", "maintainer", "onbuild", "run", "shell",
                "stopsignal", "user", "volume", "workdir")
_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*\Z")
_ONBUILD_PREFIX = re.compile(r"^[\t\n\f\r ]*ONBUILD[\t\n\f\r ]*", re.IGNORECASE)


class _Error(Exception):
    """A message for the instruction at hand; the location is added on the way out."""


def _node_args(node: Node) -> list[str]:
    out: list[str] = []
    for arg in node.iter_next():
        if not arg.children:
            out.append(arg.value)
        elif len(arg.children) == 1:
            out.append(arg.children[0].value)
            out += _node_args(arg.children[0])
    return out


class _Request:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.command = node.value
        self.args = _node_args(node)
        self.flags = BuildFlags(node.flags)
        self.json = node.is_json
        self.pos = (node.value.lower(), node.original, node.start_line, node.end_line)


def _at_least_one(cmd: str) -> _Error:
    return _Error(f"{cmd} requires at least one argument")


def _exactly_one(cmd: str) -> _Error:
    return _Error(f"{cmd} requires exactly one argument")


def _kvps(args: list[str], cmd: str) -> list[KeyValue]:
    if not args:
        raise _at_least_one(cmd)
    if len(args) % 3:
        raise _Error(f"Bad input to {cmd}, too many arguments")
    out = []
    for i in range(0, len(args), 3):
        if not args[i]:
            raise _Error(f"{cmd} names can not be blank")
        out.append(KeyValue(args[i], args[i + 1], args[i + 2] == ""))
    return out


def _json_args(args: list[str], is_json: bool) -> list[str]:
    if not args:
        return []
    return args if is_json else [" ".join(args)]


def _sources_and_dest(req: _Request, cmd: str) -> tuple[list[str], list[SourceContent], str]:
    *srcs, dest = req.args
    if parse_heredoc(dest) is not None:
        raise _Error(f"{cmd} cannot accept a heredoc as a destination")
    docs: dict[str, Heredoc] = {h.name: h for h in req.node.heredocs}
    paths: list[str] = []
    contents: list[SourceContent] = []
    for src in srcs:
        doc = parse_heredoc(src)
        if doc is None:
            paths.append(src)
            continue
        found = docs.get(doc.name)
        data = found.content if found is not None else ""
        if doc.chomp:
            data = re.sub(r"(?m)^\t+", "", data)
        contents.append(SourceContent(doc.name, data, doc.expand))
    return paths, contents, dest


def _add(req: _Request) -> Instruction:
    if len(req.args) < 2:
        raise _Error("ADD requires at least two arguments, but only one was provided. "
                     "Destination could not be determined")
    f = req.flags
    chown, chmod, link = f.add_string("chown"), f.add_string("chmod"), f.add_bool("link")
    keep_git, checksum = f.add_bool("keep-git-dir"), f.add_string("checksum")
    unpack, exclude = f.add_bool("unpack"), f.add_strings("exclude")
    f.parse()
    sources, contents, dest = _sources_and_dest(req, "ADD")
    return AddInstruction(
        *req.pos, sources=sources, contents=contents, dest=dest,
        chown=chown.value, chmod=chmod.value, link=link.is_true,
        keep_git_dir=keep_git.is_true if keep_git.used else None, checksum=checksum.value,
        unpack=unpack.is_true if unpack.used else None, excludes=exclude.values)


def _copy(req: _Request) -> Instruction:
    if len(req.args) < 2:
        raise _Error("COPY requires at least two arguments, but only one was provided. "
                     "Destination could not be determined")
    f = req.flags
    chown, from_, chmod = f.add_string("chown"), f.add_string("from"), f.add_string("chmod")
    link, exclude, parents = f.add_bool("link"), f.add_strings("exclude"), f.add_bool("parents")
    f.parse()
    sources, contents, dest = _sources_and_dest(req, "COPY")
    return CopyInstruction(
        *req.pos, sources=sources, contents=contents, dest=dest,
        from_=from_.value, chown=chown.value, chmod=chmod.value, link=link.is_true,
        parents=parents.is_true, excludes=exclude.values)


def _from(req: _Request) -> Stage:
    args = req.args
    name = ""
    if len(args) == 3 and args[1].lower() == "as":
        name = args[2].lower()
        if not _STAGE_NAME.match(name):
            raise _Error(f'invalid name for build stage: "{args[2]}", '
                         "name can't start with a number or contain symbols")
    elif len(args) != 1:
        raise _Error("FROM requires either one or three arguments")
    platform = req.flags.add_string("platform")
    req.flags.parse()
    return Stage(base_name=args[0], name=name, platform=platform.value,
                 original=req.node.original.strip(), start_line=req.node.start_line,
                 end_line=req.node.end_line)


def _onbuild(req: _Request) -> Instruction:
    if not req.args:
        raise _at_least_one("ONBUILD")
    req.flags.parse()
    trigger = req.args[0].strip().upper()
    if trigger == "ONBUILD":
        raise _Error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if trigger in ("MAINTAINER", "FROM"):
        raise _Error(f"{trigger} isn't allowed as an ONBUILD trigger")
    expression = _ONBUILD_PREFIX.sub("", req.node.original, count=1)
    for doc in req.node.heredocs:
        expression += "\n" + doc.content + doc.name
    return OnbuildInstruction(*req.pos, expression=expression)


def _command_line(req: _Request, empty_as_none: bool) -> tuple[list[str] | None,
                                                                list[InlineFile], bool]:
    files = [InlineFile(h.name, h.content, h.chomp) for h in req.node.heredocs]
    args: list[str] | None = _json_args(req.args, req.json)
    if empty_as_none and not args:
        args = None
    return args, files, not req.json


def _run(req: _Request) -> Instruction:
    f = req.flags
    mount, network, security = (f.add_strings("mount"), f.add_string("network", "default"),
                                f.add_string("security", "sandbox"))
    f.parse()
    for spec in mount.values:
        parse_mount(spec, None)
    if network.value not in ("default", "none", "host"):
        raise _Error(f'invalid network mode "{network.value}"')
    if security.value not in ("insecure", "sandbox"):
        raise _Error(f'security "{security.value}" is not valid')
    cmd_line, files, prepend = _command_line(req, False)
    return RunInstruction(*req.pos, cmd_line=cmd_line, files=files, prepend_shell=prepend,
                          mount_specs=mount.values, network=network.value,
                          security=security.value, flags_used=list(f.used))


def _duration(flag_name: str, text: str) -> int:
    if not text:
        return 0
    try:
        ns = parse_go_duration(text)
    except ValueError as err:
        raise _Error(str(err)) from None
    if 0 < ns < 1_000_000 or ns < 0:
        raise _Error(f'Interval "{flag_name}" cannot be less than 1ms')
    return ns


def _healthcheck(req: _Request) -> Instruction:
    if not req.args:
        raise _at_least_one("HEALTHCHECK")
    kind = req.args[0].upper()
    rest = req.args[1:]
    if kind == "NONE":
        if rest:
            raise _Error("HEALTHCHECK NONE takes no arguments")
        return HealthcheckInstruction(*req.pos, test=["NONE"])
    f = req.flags
    names = ("interval", "timeout", "start-period", "start-interval", "retries")
    flags = {n: f.add_string(n) for n in names}
    f.parse()
    if kind != "CMD":
        raise _Error(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    cmd = _json_args(rest, req.json)
    if not cmd:
        raise _Error("Missing command after HEALTHCHECK CMD")
    test = ["CMD" if req.json else "CMD-SHELL", *cmd]
    times = {n: _duration(n, flags[n].value) for n in names[:4]}
    retries = 0
    if flags["retries"].value:
        text = flags["retries"].value
        try:
            retries = int(text, 10) if re.fullmatch(r"[+-]?[0-9]+", text) else int("x")
        except ValueError:
            raise _Error(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
        if not -(2**31) <= retries < 2**31:
            raise _Error(f'strconv.ParseInt: parsing "{text}": value out of range')
        if retries < 0:
            raise _Error(f"--retries cannot be negative ({retries})")
    return HealthcheckInstruction(
        *req.pos, test=test, interval=times["interval"],
        timeout=times["timeout"], start_period=times["start-period"],
        start_interval=times["start-interval"], retries=retries)


def _arg(req: _Request) -> Instruction:
    if not req.args:
        raise _at_least_one("ARG")
    pairs: list[tuple[str, str | None]] = []
    for word in req.args:
        if "=" in word:
            key, _, value = word.partition("=")
            if not key:
                raise _Error("ARG names can not be blank")
            pairs.append((key, value))
        else:
            pairs.append((word, None))
    return ArgInstruction(*req.pos, args=pairs)


def _shell(req: _Request) -> Instruction:
    req.flags.parse()
    shell = _json_args(req.args, req.json)
    if not shell:
        raise _at_least_one("SHELL")
    if not req.json:
        raise _Error("SHELL requires the arguments to be in JSON form")
    return ShellInstruction(*req.pos, shell=shell)


def _one(req: _Request, cmd: str) -> str:
    if len(req.args) != 1:
        raise _exactly_one(cmd)
    return req.args[0]


def _dispatch(req: _Request) -> Instruction | Stage:
    kind = req.command.lower()
    b = req.pos
    if kind == "env":
        req.flags.parse()
        return EnvInstruction(*b, env=_kvps(req.args, "ENV"))
    if kind == "label":
        req.flags.parse()
        return LabelInstruction(*b, labels=_kvps(req.args, "LABEL"))
    if kind == "maintainer":
        value = _one(req, "MAINTAINER")
        req.flags.parse()
        return MaintainerInstruction(*b, maintainer=value)
    if kind == "workdir":
        value = _one(req, "WORKDIR")
        req.flags.parse()
        return WorkdirInstruction(*b, path=value)
    if kind == "user":
        value = _one(req, "USER")
        req.flags.parse()
        return UserInstruction(*b, user=value)
    if kind == "stopsignal":
        return StopSignalInstruction(*b, signal=_one(req, "STOPSIGNAL"))
    if kind == "expose":
        if not req.args:
            raise _at_least_one("EXPOSE")
        req.flags.parse()
        return ExposeInstruction(*b, ports=sorted(req.args))
    if kind == "volume":
        if not req.args:
            raise _at_least_one("VOLUME")
        req.flags.parse()
        vols = [v.strip(" \t\n\v\f\r\x85\xa0") for v in req.args]
        if "" in vols:
            raise _Error("VOLUME specified can not be an empty string")
        return VolumeInstruction(*b, volumes=vols)
    if kind in ("cmd", "entrypoint"):
        req.flags.parse()
        cls = CmdInstruction if kind == "cmd" else EntrypointInstruction
        cmd_line, files, prepend = _command_line(req, kind == "entrypoint")
        return cls(*b, cmd_line=cmd_line, files=files, prepend_shell=prepend)
    handlers: dict[str, Callable[[_Request], Instruction | Stage]] = {
        "add": _add, "copy": _copy, "from": _from, "onbuild": _onbuild, "run": _run,
                "healthcheck": _healthcheck, "arg": _arg, "shell": _shell}
    handler = handlers.get(kind)
    if handler is None:
        names = [n.upper() for n in INSTRUCTIONS]
        raise _Error(suggest(f"unknown instruction: {req.command}", req.command, names,
                             case_sensitive=False))
    return handler(req)


def parse_instruction(node: Node) -> Instruction | Stage:
    """Type one instruction node; a FROM gives a :class:`Stage`."""
    try:
        return _dispatch(_Request(node))
    except (_Error, InvalidArgument) as err:
        message = err.message if isinstance(err, DockerfileSyntaxError) else str(err)
        raise DockerfileSyntaxError(
            f"dockerfile parse error on line {node.start_line}: {message}",
            node.start_line, node.end_line) from None


def parse_stages(ast: Node, filename: str = "Dockerfile"
                 ) -> tuple[list[Stage], list[ArgInstruction]]:
    """Cut a parsed Dockerfile into stages; also return the ARGs before the first FROM."""
    stages: list[Stage] = []
    meta_args: list[ArgInstruction] = []
    for node in ast.children:
        try:
            item = parse_instruction(node)
        except DockerfileSyntaxError as err:
            raise err.with_filename(filename) from None
        if isinstance(item, Stage):
            stages.append(item)
        elif not stages:
            if isinstance(item, ArgInstruction):
                meta_args.append(item)
                continue
            raise DockerfileSyntaxError("no build stage in current context", node.start_line,
                                        node.end_line, filename)
        else:
            stages[-1].commands.append(item)
    return stages, meta_args
