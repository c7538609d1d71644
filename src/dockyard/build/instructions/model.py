"""One dataclass per Dockerfile instruction, and the build stage that holds them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..mounts import Mount, parse_mount

__all__ = [
    "AddInstruction", "ArgInstruction", "CmdInstruction", "CopyInstruction",
    "EntrypointInstruction", "EnvInstruction", "ExposeInstruction", "HealthcheckInstruction",
    "InlineFile", "Instruction", "KeyValue", "LabelInstruction", "MaintainerInstruction",
    "OnbuildInstruction", "RunInstruction", "ShellInstruction", "SourceContent", "Stage",
    "StopSignalInstruction", "UserInstruction", "VolumeInstruction", "WorkdirInstruction",
]


@dataclass
class Instruction:
    """What every instruction has: its name (lower case), text and lines."""

    name: str
    original: str
    start_line: int
    end_line: int


@dataclass
class KeyValue:
    """An ENV or LABEL pair; ``no_delim`` for the old ``KEY value`` form."""

    key: str
    value: str
    no_delim: bool = False


@dataclass
class EnvInstruction(Instruction):
    """``ENV k=v ...`` (or ``ENV k v``)."""

    env: list[KeyValue] = field(default_factory=list)


@dataclass
class LabelInstruction(Instruction):
    """``LABEL k=v ...``."""

    labels: list[KeyValue] = field(default_factory=list)


@dataclass
class MaintainerInstruction(Instruction):
    """``MAINTAINER name`` (deprecated; sets the image author)."""

    maintainer: str = ""


@dataclass
class SourceContent:
    """A heredoc used as a COPY/ADD source: written to ``path`` with ``data``."""

    path: str
    data: str
    expand: bool


@dataclass
class CopyInstruction(Instruction):
    """``COPY [--from --chown --chmod --link --parents --exclude] src... dest``."""

    sources: list[str] = field(default_factory=list)
    contents: list[SourceContent] = field(default_factory=list)
    dest: str = ""
    from_: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    parents: bool = False
    excludes: list[str] = field(default_factory=list)


@dataclass
class AddInstruction(Instruction):
    """``ADD [--chown --chmod --link --checksum --keep-git-dir --unpack --exclude] src... dest``.

    None means a flag was not given.
    """

    sources: list[str] = field(default_factory=list)
    contents: list[SourceContent] = field(default_factory=list)
    dest: str = ""
    chown: str = ""
    chmod: str = ""
    link: bool = False
    keep_git_dir: bool | None = None
    checksum: str = ""
    unpack: bool | None = None
    excludes: list[str] = field(default_factory=list)


@dataclass
class InlineFile:
    """A heredoc attached to RUN/CMD/ENTRYPOINT."""

    name: str
    data: str
    chomp: bool


@dataclass
class _CommandLine(Instruction):
    cmd_line: list[str] | None = field(default_factory=list)
    files: list[InlineFile] = field(default_factory=list)
    prepend_shell: bool = True


@dataclass
class RunInstruction(_CommandLine):
    """``RUN [--mount --network --security] cmd`` (shell or exec form, heredocs in ``files``)."""

    mount_specs: list[str] = field(default_factory=list)
    network: str = "default"
    security: str = "sandbox"
    flags_used: list[str] = field(default_factory=list)

    def mounts(self, expand: Callable[[str], str] | None = None) -> list[Mount]:
        """The ``--mount`` flags, each value expanded by ``expand`` when given."""
        return [parse_mount(spec, expand) for spec in self.mount_specs]


@dataclass
class CmdInstruction(_CommandLine):
    """``CMD`` in shell or exec form."""


@dataclass
class EntrypointInstruction(_CommandLine):
    """``ENTRYPOINT`` in shell or exec form (``[]`` gives None)."""


@dataclass
class HealthcheckInstruction(Instruction):
    """``test`` is ``["NONE"]``, ``["CMD", ...]`` or ``["CMD-SHELL", cmd]``; times in ns."""

    test: list[str] = field(default_factory=list)
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


@dataclass
class ExposeInstruction(Instruction):
    """``EXPOSE port[/proto]...`` (sorted as BuildKit sorts them)."""

    ports: list[str] = field(default_factory=list)


@dataclass
class UserInstruction(Instruction):
    """``USER user[:group]``."""

    user: str = ""


@dataclass
class VolumeInstruction(Instruction):
    """``VOLUME path...`` or a JSON list."""

    volumes: list[str] = field(default_factory=list)


@dataclass
class StopSignalInstruction(Instruction):
    """``STOPSIGNAL signal``."""

    signal: str = ""


@dataclass
class WorkdirInstruction(Instruction):
    """``WORKDIR path``."""

    path: str = ""


@dataclass
class ArgInstruction(Instruction):
    """``args`` pairs a name with its default (None when it has none)."""

    args: list[tuple[str, str | None]] = field(default_factory=list)


@dataclass
class ShellInstruction(Instruction):
    """``SHELL ["exe", "arg"...]`` (JSON form only)."""

    shell: list[str] = field(default_factory=list)


@dataclass
class OnbuildInstruction(Instruction):
    """``expression`` is the trigger's text, parsed again when a child image builds."""

    expression: str = ""


@dataclass
class Stage:
    """``FROM base [AS name]`` and the instructions up to the next FROM."""

    base_name: str
    name: str
    platform: str
    original: str
    start_line: int
    end_line: int
    commands: list[Instruction] = field(default_factory=list)
