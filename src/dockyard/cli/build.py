"""``dockyard build``: a Dockerfile and its context become a tagged image.

The front end (:mod:`dockyard.build`) plans and keys the steps; the engine's
:class:`~dockyard.engine.build_executor.BuildExecutor` runs them. Progress is printed
like BuildKit's plain view (``#N [stage i/n] STEP``, ``CACHED``, ``DONE 0.1s``) on
stderr, or live (:mod:`.build_progress`, rich) when stderr is a terminal; ``-q``
prints only the image id. A failing step exits 1 with its line, its exit code and
the last lines of its output, and leaves every tag where it was.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import click

from dockyard.cli.context import app_context
from dockyard.cli.units import human_size
from dockyard.errors import DockyardError, InvalidArgument

__all__ = ["build_cmd", "parse_pairs", "parse_secrets", "prune_cmd", "register"]


def parse_pairs(values: tuple[str, ...], flag: str, *, env_fallback: bool) -> dict[str, str]:
    """``K=V`` flags; with ``env_fallback`` a bare ``K`` takes the caller's ``$K``
    (docker's --build-arg), and is dropped when unset."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {flag} {item!r}: the name is empty")
        if not sep:
            if not env_fallback:
                out[key] = ""
                continue
            if key not in os.environ:
                continue
            value = os.environ[key]
        out[key] = value
    return out


def parse_secrets(values: tuple[str, ...]) -> dict[str, Path]:
    """``--secret id=ID,src=FILE`` (docker's form; ``source``, ``type=file`` accepted)."""
    out: dict[str, Path] = {}
    for item in values:
        fields: dict[str, str] = {}
        for part in item.split(","):
            key, sep, value = part.partition("=")
            if not sep or key not in ("id", "src", "source", "type"):
                raise InvalidArgument(f"invalid --secret {item!r}: unexpected field {part!r}")
            fields["src" if key == "source" else key] = value
        if fields.get("type", "file") != "file":
            raise InvalidArgument(f"invalid --secret {item!r}: only type=file is supported")
        sid = fields.get("id") or os.path.basename(fields.get("src", ""))
        src = fields.get("src")
        if not sid or not src:
            raise InvalidArgument(f"invalid --secret {item!r}: want id=ID,src=FILE")
        if not os.path.isfile(src):
            raise InvalidArgument(f"--secret {sid}: {src}: no such file")
        out[sid] = Path(src).resolve()
    return out


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(errors="surrogateescape")
    except OSError as err:
        raise InvalidArgument(f"unable to read {what} {path}: "
                              f"{(err.strerror or str(err)).lower()}") from None


class _Progress:
    """BuildKit's plain view, one record per finished step."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.n = 1

    def step(self, event: Any) -> None:
        if self.quiet:
            return
        self.n += 1
        head = f"#{self.n} [{event.stage} {event.index}/{event.total}] {event.text}"
        tail = "CACHED" if event.cached else f"DONE {event.seconds:.1f}s"
        click.echo(f"{head}\n#{self.n} {tail}\n", err=True)

    def output(self, line: str) -> None:
        if not self.quiet:
            click.echo(f"#{self.n + 1} {line}", err=True)

    def started(self, event: Any) -> None:
        pass

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _view(progress: str, quiet: bool) -> Any:
    """The plain view, or with ``tty`` (``auto`` on a terminal) the live one.
    Like ``docker build``, the view goes to stderr, so that is the stream asked."""
    terminal = sys.stderr.isatty()
    if progress == "tty" and not terminal:
        raise InvalidArgument("--progress tty: stderr is not a terminal (use plain)")
    if quiet or progress == "plain" or not terminal:
        return _Progress(quiet)
    from dockyard.cli.build_progress import TtyProgress

    return TtyProgress()


@click.command("build")
@click.argument("context")
@click.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag in the "
              "'name:tag' format.")
@click.option("-f", "--file", "file", default="", help="Name of the Dockerfile (Default is "
              "'PATH/Dockerfile').")
@click.option("--build-arg", "build_args", multiple=True, help="Set build-time variables.")
@click.option("--target", default="", help="Set the target build stage to build.")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image.")
@click.option("--label", "labels", multiple=True, help="Set metadata for an image.")
@click.option("--progress", default="auto", type=click.Choice(["auto", "plain", "tty"]),
              help="Set type of progress output.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the build output and print "
              "image ID on success.")
@click.option("--iidfile", default="", help="Write the image ID to the file.")
@click.option("--secret", "secrets", multiple=True, help="Secret to expose to the build "
              "(format: id=mysecret,src=/local/secret).")
def build_cmd(context: str, tags: tuple[str, ...], file: str, build_args: tuple[str, ...],
              target: str, no_cache: bool, labels: tuple[str, ...], progress: str,
              quiet: bool, iidfile: str, secrets: tuple[str, ...]) -> None:
    """Build an image from a Dockerfile."""
    from dockyard.build import (
        Builder,
        BuildOptions,
        PatternMatcher,
        StepFailed,
        ignore_file_for,
        read_ignore_file,
    )
    from dockyard.engine.build_executor import BuildExecutor
    from dockyard.oci import parse_reference

    for tag in tags:
        parse_reference(tag)  # a bad name fails before any work
    args = parse_pairs(build_args, "--build-arg", env_fallback=True)
    label_map = parse_pairs(labels, "--label", env_fallback=False)
    secret_map = parse_secrets(secrets)
    ctx_dir: Path | None = None
    if context == "-":
        if file:
            raise InvalidArgument("build: a Dockerfile from stdin cannot be combined with -f")
        text, filename = sys.stdin.read(), "Dockerfile"
    else:
        ctx_dir = Path(context).resolve()
        if not ctx_dir.is_dir():
            raise InvalidArgument(f"unable to prepare context: path {context!r} not found")
        dockerfile = Path(file) if file else ctx_dir / "Dockerfile"
        text = sys.stdin.read() if file == "-" else _read(dockerfile, "Dockerfile")
        filename = dockerfile.name if file != "-" else "Dockerfile"
    matcher = None
    if ctx_dir is not None:
        ignore = ignore_file_for(ctx_dir, Path(file).resolve() if file and file != "-"
                                 else ctx_dir / "Dockerfile")
        if ignore is not None:
            matcher = PatternMatcher(read_ignore_file(ignore.read_bytes()))
    view = _view(progress, quiet)
    roots = app_context().roots
    parent = os.environ.get("DOCKYARD_CGROUP_PARENT")
    extra = {"cgroup_parent": parent} if parent else {}
    executor = BuildExecutor(roots, context=ctx_dir, ignore=matcher, output=view.output,
                             **extra)
    try:
        with view:
            result = Builder(executor, progress=view.step, started=view.started).build(
                BuildOptions(text, context=ctx_dir, filename=filename, target=target or None,
                             build_args=args, tags=list(tags), labels=label_map,
                             no_cache=no_cache, ignore=matcher, secrets=secret_map))
    except StepFailed as err:
        for line in err.last_lines:
            click.echo(f" > {line}", err=True)
        click.echo(f"ERROR: {filename}:{err.line}: {err}", err=True)
        sys.exit(1)
    except DockyardError as err:
        click.echo(f"ERROR: {err}", err=True)
        sys.exit(1)
    finally:
        executor.close()
    for warning in result.warnings:
        click.echo(f"[Warning] {warning}", err=True)
    if iidfile:
        Path(iidfile).write_text(result.image_id)
    if quiet:
        click.echo(result.image_id)
        return
    click.echo(f"writing image {result.image_id} done", err=True)
    for tag in tags:
        click.echo(f"naming to {parse_reference(tag)} done", err=True)


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused build cache.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
def prune_cmd(all_: bool, force: bool) -> None:
    """Remove build cache: step results, chain records and RUN cache mounts."""
    import shutil

    if not force and not click.confirm("WARNING! This will remove all dangling build "
                                       "cache. Are you sure you want to continue?"):
        return
    cache = app_context().roots.root / "build-cache"
    reclaimed = 0
    if cache.is_dir():
        for dirpath, _, names in os.walk(cache):
            for name in names:
                with contextlib.suppress(OSError):
                    reclaimed += os.lstat(os.path.join(dirpath, name)).st_size
        shutil.rmtree(cache)
    click.echo(f"Total:\t{human_size(reclaimed, 3)}")


def register(group: click.Group) -> None:
    """Add ``build`` (and ``image build``, ``builder build|prune``) to the root group."""
    group.add_command(build_cmd, "build")
    builder = click.Group("builder", help="Manage builds.")
    builder.add_command(build_cmd, "build")
    builder.add_command(prune_cmd, "prune")
    group.add_command(builder)
    image = group.commands.get("image")
    if isinstance(image, click.Group):
        image.add_command(build_cmd, "build")
