"""Build arguments and environment: what each instruction sees when its words expand.

Docker's rules, as BuildKit applies them:

- ARGs before the first FROM are *global*: only FROM lines see them, plus a stage that
  re-declares one (``ARG NAME`` without a value takes the global value).
- The platform args (``BUILDPLATFORM``, ``TARGETOS``, ``TARGETARCH``...) are global
  from the start; the proxy args (``HTTP_PROXY``...) reach RUN without any ARG and
  never enter the image or its history.
- ``--build-arg`` values beat ARG defaults, but only for declared names.
- Inside a stage, ARG and ENV both feed expansion (ENV also the image config). A stage
  built ``FROM`` another stage starts with that stage's variables.
- All words of one instruction expand against the variables from *before* it, so
  ``ENV a=1 b=$a`` sees the old ``a``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dockyard.errors import InvalidArgument

from .instructions import (
    AddInstruction,
    ArgInstruction,
    CopyInstruction,
    EnvInstruction,
    ExposeInstruction,
    Instruction,
    KeyValue,
    LabelInstruction,
    SourceContent,
    Stage,
    StopSignalInstruction,
    UserInstruction,
    VolumeInstruction,
    WorkdirInstruction,
)
from .shell import Lex

__all__ = [
    "PROXY_ARGS",
    "Platform",
    "StageEnv",
    "check_copy_from",
    "default_args",
    "expand_stage_base",
    "global_args",
    "proxy_env",
    "unconsumed_build_args",
]

PROXY_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
              "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
_MACHINE = {"x86_64": ("amd64", ""), "amd64": ("amd64", ""), "aarch64": ("arm64", ""),
            "arm64": ("arm64", ""), "armv7l": ("arm", "v7"), "armv6l": ("arm", "v6"),
            "i686": ("386", ""), "i386": ("386", ""), "ppc64le": ("ppc64le", ""),
            "s390x": ("s390x", ""), "riscv64": ("riscv64", "")}


@dataclass(frozen=True)
class Platform:
    """An OCI platform: ``linux/arm64``, ``linux/arm/v7``."""

    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Read ``os/arch[/variant]``; raise InvalidArgument naming the text otherwise."""
        parts = text.split("/")
        if not 2 <= len(parts) <= 3 or not all(parts):
            raise InvalidArgument(f"platform: {text!r} is not os/arch[/variant]")
        return cls(parts[0].lower(), parts[1].lower(), parts[2].lower() if len(parts) == 3 else "")

    @classmethod
    def host(cls) -> Platform:
        """The platform of this machine."""
        arch, variant = _MACHINE.get(os.uname().machine, (os.uname().machine, ""))
        return cls("linux", arch, variant)

    def format(self) -> str:
        """``os/arch[/variant]``."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def default_args(build: Platform, target: Platform, target_stage: str = "",
                 overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The args every Dockerfile has in global scope (``--build-arg`` may override)."""
    values = {
        "BUILDPLATFORM": build.format(), "BUILDOS": build.os,
        "BUILDOSVERSION": build.os_version, "BUILDARCH": build.architecture,
        "BUILDVARIANT": build.variant, "TARGETPLATFORM": target.format(),
        "TARGETOS": target.os, "TARGETOSVERSION": target.os_version,
        "TARGETARCH": target.architecture, "TARGETVARIANT": target.variant,
        "TARGETSTAGE": target_stage or "default",
    }
    for key in values:
        if overrides is not None and key in overrides:
            values[key] = overrides[key]
    return values


def proxy_env(build_args: Mapping[str, str]) -> dict[str, str]:
    """The proxy variables RUN gets from ``--build-arg`` (any case), upper and lower."""
    found: dict[str, str] = {}
    for key in sorted(build_args):
        low = key.lower()
        if low in ("http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"):
            found[low] = build_args[key]
    env: dict[str, str] = {}
    for low, value in found.items():
        env[low.upper()] = value
        env[low] = value
    return env


def global_args(meta: Iterable[ArgInstruction], build_args: Mapping[str, str],
                defaults: Mapping[str, str]) -> dict[str, str]:
    """Evaluate the ARGs before the first FROM, in order, over ``defaults``."""
    lex = Lex()
    env = dict(defaults)
    for inst in meta:
        for key, value in inst.args:
            if key in build_args:
                env[key] = build_args[key]
            elif value is not None:
                env[key] = lex.process_word(value, env)
    return env


def expand_stage_base(stage: Stage, global_env: Mapping[str, str],
                      escape: str = "\\") -> tuple[str, str]:
    """A stage's base image and platform with global args expanded."""
    lex = Lex(escape)
    base = lex.process_word(stage.base_name, global_env)
    if not base:
        raise InvalidArgument(f"base name ({stage.base_name}) should not be blank")
    platform = ""
    if stage.platform:
        platform = lex.process_word(stage.platform, global_env)
        if not platform:
            raise InvalidArgument(f"empty platform value from expression {stage.platform}")
    return base, platform


@dataclass
class StageEnv:
    """The variables of one stage as it builds.

    ``env`` is what expansion and RUN see (image env, ENVs, ARGs, in order);
    ``config_env`` is what the image config keeps (image env and ENVs only).
    """

    global_env: Mapping[str, str]
    build_args: Mapping[str, str]
    escape: str = "\\"
    env: dict[str, str] = field(default_factory=dict)
    config_env: dict[str, str] = field(default_factory=dict)
    declared: list[str] = field(default_factory=list)

    @classmethod
    def from_image(cls, image_env: Iterable[str], global_env: Mapping[str, str],
                   build_args: Mapping[str, str], escape: str = "\\") -> StageEnv:
        """Start a stage on an image whose config has ``Env`` ``image_env`` (``K=V``)."""
        env: dict[str, str] = {}
        for item in image_env:
            key, _, value = item.partition("=")
            env[key] = value
        return cls(global_env, build_args, escape, dict(env), dict(env))

    def child(self) -> StageEnv:
        """The starting point of a stage built ``FROM`` this one."""
        return StageEnv(self.global_env, self.build_args, self.escape, dict(self.env),
                        dict(self.config_env), list(self.declared))

    def expand(self, word: str) -> str:
        """Expand one word (quotes processed) against the current variables."""
        return Lex(self.escape).process_word(word, self.env)

    def expand_words(self, word: str) -> list[str]:
        """Expand and split into words (EXPOSE)."""
        return Lex(self.escape).process_words(word, self.env)

    def expand_raw(self, text: str) -> str:
        """Expand heredoc content: variables only, quotes left alone."""
        return Lex("\\", skip_process_quotes=True).process_word(text, self.env)

    def apply_arg(self, inst: ArgInstruction) -> list[tuple[str, str | None]]:
        """Declare the ARGs of ``inst``; return them with their final values.

        Defaults are expanded against the variables from before the instruction, as
        BuildKit expands a whole stage ARG at once (``ARG A=1 B=$A`` leaves ``B``
        without this ``A``; global ARGs before FROM do see earlier ones).
        """
        result: list[tuple[str, str | None]] = []
        before = dict(self.env)
        lex = Lex(self.escape)
        for key, default in inst.args:
            value = default
            if key in self.build_args:
                value = self.build_args[key]
            elif default is not None:
                value = lex.process_word(default, before)
            elif key in self.global_env:
                value = self.global_env[key]
            if value is not None:
                self.env[key] = value
            self.declared.append(key)
            result.append((key, value))
        return result

    def apply_env(self, inst: EnvInstruction) -> list[KeyValue]:
        """Expand and set the ENV pairs of ``inst`` (all against the earlier values)."""
        pairs = [KeyValue(self.expand(kv.key), self.expand(kv.value), kv.no_delim)
                 for kv in inst.env]
        for kv in pairs:
            self.env[kv.key] = kv.value
            self.config_env[kv.key] = kv.value
        return pairs

    def run_env(self) -> dict[str, str]:
        """The environment a RUN starts with: the stage's variables plus proxies."""
        env = dict(self.env)
        for key, value in proxy_env(self.build_args).items():
            env.setdefault(key, value)
        return env

    def expand_instruction(self, inst: Instruction) -> Instruction:
        """A copy of ``inst`` with the fields docker expands expanded.

        RUN, CMD, ENTRYPOINT, HEALTHCHECK and SHELL are left for the shell; RUN's
        ``--mount`` values expand through :meth:`RunInstruction.mounts`.
        """
        ex = self.expand
        if isinstance(inst, EnvInstruction):
            return dataclasses.replace(inst, env=[
                KeyValue(ex(kv.key), ex(kv.value), kv.no_delim) for kv in inst.env])
        if isinstance(inst, LabelInstruction):
            return dataclasses.replace(inst, labels=[
                KeyValue(ex(kv.key), ex(kv.value), kv.no_delim) for kv in inst.labels])
        if isinstance(inst, CopyInstruction):
            return dataclasses.replace(
                inst, chown=ex(inst.chown), chmod=ex(inst.chmod),
                sources=[ex(s) for s in inst.sources], dest=ex(inst.dest),
                contents=self._contents(inst.contents))
        if isinstance(inst, AddInstruction):
            return dataclasses.replace(
                inst, chown=ex(inst.chown), chmod=ex(inst.chmod), checksum=ex(inst.checksum),
                sources=[ex(s) for s in inst.sources], dest=ex(inst.dest),
                contents=self._contents(inst.contents))
        if isinstance(inst, WorkdirInstruction):
            return dataclasses.replace(inst, path=ex(inst.path))
        if isinstance(inst, UserInstruction):
            return dataclasses.replace(inst, user=ex(inst.user))
        if isinstance(inst, VolumeInstruction):
            return dataclasses.replace(inst, volumes=[ex(v) for v in inst.volumes])
        if isinstance(inst, StopSignalInstruction):
            return dataclasses.replace(inst, signal=ex(inst.signal))
        if isinstance(inst, ExposeInstruction):
            ports = [p for word in inst.ports for p in self.expand_words(word)]
            return dataclasses.replace(inst, ports=ports)
        return inst

    def _contents(self, contents: list[SourceContent]) -> list[SourceContent]:
        return [dataclasses.replace(c, data=self.expand_raw(c.data)) if c.expand else c
                for c in contents]


def check_copy_from(value: str) -> str:
    """``COPY --from`` takes no variables: refuse a value that would expand."""
    if Lex().process_word(value, {}) != value:
        raise InvalidArgument(
            "variable expansion is not supported for --from, define a new stage with "
            "FROM using ARG from global scope as a workaround")
    return value


def unconsumed_build_args(build_args: Iterable[str], declared: Iterable[str]) -> list[str]:
    """``--build-arg`` names no ARG declared (docker warns about them); proxies excepted."""
    seen = set(declared)
    return sorted(k for k in build_args if k not in seen and k not in PROXY_ARGS)
