"""Dockerfile builder: parser, shell-word expansion, .dockerignore, stage execution
with a content-keyed cache.

:func:`parse` turns text into BuildKit's syntax tree, :func:`parse_stages` into typed
instructions cut into stages, :class:`StageEnv` expands their words with docker's
ARG/ENV scoping, :class:`PatternMatcher` decides what a .dockerignore keeps, and
:class:`Builder` drives a build through a :class:`StageExecutor` that the engine
implements, keyed by content (:mod:`.cache`).
"""

from __future__ import annotations

from .args import (
    PROXY_ARGS,
    Platform,
    StageEnv,
    check_copy_from,
    default_args,
    expand_stage_base,
    global_args,
    proxy_env,
    unconsumed_build_args,
)
from .builder import Builder, BuildOptions, BuildResult, StepEvent, StepFailed
from .cache import DigestMemo, base_key, content_digest, resolve_sources, stage_keys, step_key
from .dockerignore import (
    PatternMatcher,
    ignore_file_for,
    included_paths,
    read_ignore_file,
)
from .executor import BaseImage, CopyRequest, CopySource, RunFailed, RunRequest, StageExecutor
from .flags import FlagError
from .graph import StageGraph, StageNode, build_graph
from .imageconfig import ImageState
from .instructions import (
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
    parse_instruction,
    parse_stages,
)
from .mounts import Mount, parse_mount
from .parser import DockerfileSyntaxError, Heredoc, Node, ParseResult, detect_syntax, parse
from .shell import ExpansionError, Lex

__all__ = [
    "PROXY_ARGS",
    "AddInstruction",
    "ArgInstruction",
    "BaseImage",
    "BuildOptions",
    "BuildResult",
    "Builder",
    "CmdInstruction",
    "CopyInstruction",
    "CopyRequest",
    "CopySource",
    "DigestMemo",
    "DockerfileSyntaxError",
    "EntrypointInstruction",
    "EnvInstruction",
    "ExpansionError",
    "ExposeInstruction",
    "FlagError",
    "HealthcheckInstruction",
    "Heredoc",
    "ImageState",
    "InlineFile",
    "Instruction",
    "KeyValue",
    "LabelInstruction",
    "Lex",
    "MaintainerInstruction",
    "Mount",
    "Node",
    "OnbuildInstruction",
    "ParseResult",
    "PatternMatcher",
    "Platform",
    "RunFailed",
    "RunInstruction",
    "RunRequest",
    "ShellInstruction",
    "SourceContent",
    "Stage",
    "StageEnv",
    "StageExecutor",
    "StageGraph",
    "StageNode",
    "StepEvent",
    "StepFailed",
    "StopSignalInstruction",
    "UserInstruction",
    "VolumeInstruction",
    "WorkdirInstruction",
    "base_key",
    "build_graph",
    "check_copy_from",
    "content_digest",
    "default_args",
    "detect_syntax",
    "expand_stage_base",
    "global_args",
    "ignore_file_for",
    "included_paths",
    "parse",
    "parse_instruction",
    "parse_mount",
    "parse_stages",
    "proxy_env",
    "read_ignore_file",
    "resolve_sources",
    "stage_keys",
    "step_key",
    "unconsumed_build_args",
]
