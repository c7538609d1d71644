"""Image commands: ``images``/``image ls``, ``image inspect``, ``history``, ``tag``,
``rmi``/``image rm``, ``image prune``, ``save``, ``load``, ``import``.

Docker's columns, flags, messages and exit codes (1 when a listed object fails).
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

import click

from dockyard.cli.context import app_context
from dockyard.cli.units import human_duration, human_size
from dockyard.errors import DockyardError, InvalidArgument

__all__ = ["register"]

ProgressFn = Callable[[int], None]


def _store() -> Any:
    """The image store, told by the engine which images containers use (for rmi/prune)."""
    from dockyard.engine import image_users
    from dockyard.images import ImageStore

    roots = app_context().roots
    return ImageStore(roots, in_use=image_users(roots))


def _ago(created: str) -> str:
    if not created:
        return "N/A"
    try:
        when = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return "N/A"
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    delta = datetime.datetime.now(datetime.UTC) - when
    return human_duration(max(delta.total_seconds(), 0)) + " ago"


def _table(headers: list[str], rows: list[list[str]]) -> None:
    """docker's tabwriter (min width 10, padding 3): each column as wide as its widest
    cell plus three spaces, and at least ten."""
    widths = [max(10, 3 + max([len(h), *(len(r[i]) for r in rows)]))
              for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        cells = [c.ljust(widths[i]) if i < len(line) - 1 else c for i, c in enumerate(line)]
        click.echo("".join(cells).rstrip())


def _render(fmt: str, rows: list[dict[str, Any]], headers: dict[str, str]) -> None:
    """``--format``: ``json``, ``table …`` or a Go template per row."""
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, separators=(",", ":")))
        return
    from dockyard.cli.template import parse

    table = fmt.startswith("table")
    tmpl = parse(fmt[5:].strip() if table else fmt)
    if table:
        click.echo(parse(fmt[5:].strip()).execute(headers))
    for row in rows:
        click.echo(tmpl.execute(row))


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[ProgressFn | None]:
    """A rich progress bar on a terminal for big transfers; nothing otherwise."""
    if not sys.stderr.isatty() or (total is not None and total < (8 << 20)):
        yield None
        return
    from rich import progress as rp
    from rich.console import Console

    # On stderr: stdout may be carrying the archive (``save > file``).
    with rp.Progress(rp.TextColumn(label), rp.BarColumn(), rp.DownloadColumn(),
                     rp.TransferSpeedColumn(), transient=True,
                     console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _fail_each(items: list[str], action: Callable[[str], None]) -> None:
    """Run ``action`` on every item; report each failure and exit 1 if any failed."""
    failed = False
    for item in items:
        try:
            action(item)
        except DockyardError as err:
            click.echo(f"Error response from daemon: {err}", err=True)
            failed = True
    if failed:
        # main() drops click's Exit code under standalone_mode=False; docker exits 1 here
        sys.exit(1)


# -- images -------------------------------------------------------------------------------
def _image_rows(store: Any, filters: list[str], no_trunc: bool) -> list[dict[str, Any]]:
    """One row per name (docker's columns and ``--format`` fields), newest first."""
    from dockyard.images import familiar
    from dockyard.oci import parse_reference

    want: dict[str, list[str]] = {}
    for f in filters:
        key, eq, value = f.partition("=")
        if not eq or key not in ("dangling", "reference", "label", "before", "since"):
            raise InvalidArgument(f"invalid filter {f!r}")
        want.setdefault(key, []).append(value)
    rows: list[dict[str, Any]] = []
    images = sorted(store.list(), key=lambda i: (i.config.created, i.added), reverse=True)
    bounds = {k: store.resolve(v[0]).added for k, v in want.items() if k in ("before", "since")}
    for img in images:
        dangling = not img.names and not img.repo_digests
        if "dangling" in want and (want["dangling"][0].lower() in ("true", "1")) != dangling:
            continue
        if "before" in bounds and img.added >= bounds["before"]:
            continue
        if "since" in bounds and img.added <= bounds["since"]:
            continue
        labels = img.config.config.get("Labels") or {}
        if any((lab.partition("=")[0] not in labels) or
               ("=" in lab and labels[lab.partition("=")[0]] != lab.partition("=")[2])
               for lab in want.get("label", [])):
            continue
        names = [familiar(n) for n in img.names] or [
            parse_reference(d, default_tag="").familiar_name + ":<none>"
            for d in img.repo_digests] or ["<none>:<none>"]
        for name in names:
            repo, _, tag = name.rpartition(":")
            if "reference" in want and not any(_ref_match(p, repo, tag) for p in want["reference"]):
                continue
            digest = "<none>"
            for d in img.repo_digests:
                if parse_reference(d, default_tag="").familiar_name == repo:
                    digest = d.rpartition("@")[2]
            rows.append({
                "Repository": repo, "Tag": tag, "Digest": digest,
                "ID": str(img.id) if no_trunc else img.short_id,
                "CreatedSince": _ago(img.config.created), "CreatedAt": img.config.created,
                "Size": human_size(img.size, 3), "Containers": "N/A",
                "SharedSize": "N/A", "UniqueSize": "N/A", "VirtualSize": human_size(img.size, 3),
            })
    return rows


def _ref_match(pattern: str, repo: str, tag: str) -> bool:
    import fnmatch

    target = f"{repo}:{tag}" if ":" in pattern else repo
    return fnmatch.fnmatchcase(target, pattern)


@click.command("images")
@click.argument("repository", required=False)
@click.option("-a", "--all", "all_", is_flag=True, help="Show all images.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output.")
@click.option("--format", "fmt", default="", help="Format output (table, json, template).")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
def images_cmd(repository: str | None, all_: bool, digests: bool, filters: tuple[str, ...],
               fmt: str, no_trunc: bool, quiet: bool) -> None:
    """List images."""
    flist = list(filters) + ([f"reference={repository}"] if repository else [])
    store = _store()
    rows = _image_rows(store, flist, no_trunc)  # -a: there are no intermediate images
    if store.unreadable:
        click.echo(f"WARNING: {len(store.unreadable)} image(s) cannot be read; run "
                   "'dockyard system check'", err=True)
    if quiet:
        seen: list[str] = []
        for r in rows:
            if r["ID"] not in seen:
                seen.append(r["ID"])
        if seen:
            click.echo("\n".join(seen))
        return
    if fmt and fmt != "table":
        _render(fmt, rows, {"Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID",
                            "CreatedSince": "CREATED", "Size": "SIZE", "Digest": "DIGEST",
                            "CreatedAt": "CREATED AT"})
        return
    headers = ["REPOSITORY", "TAG"] + (["DIGEST"] if digests else []) + \
        ["IMAGE ID", "CREATED", "SIZE"]
    _table(headers, [[r["Repository"], r["Tag"]] + ([r["Digest"]] if digests else []) +
                     [r["ID"], r["CreatedSince"], r["Size"]] for r in rows])


# -- inspect, history, tag ------------------------------------------------------------------
@click.command("inspect")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", default="", help="Format output with a template.")
def inspect_cmd(images: tuple[str, ...], fmt: str) -> None:
    """Display detailed information on one or more images."""
    store = _store()
    found: list[dict[str, Any]] = []
    failed = []
    for ref in images:
        try:
            found.append(store.inspect(ref))
        except DockyardError as err:
            failed.append(str(err))
    if fmt:
        from dockyard.cli.template import parse

        tmpl = parse(fmt)
        for obj in found:
            click.echo(tmpl.execute(obj))
    else:
        click.echo(json.dumps(found, indent=4))
    for msg in failed:
        click.echo(f"Error: {msg}", err=True)
    if failed:
        sys.exit(1)


def _created_by(text: str, no_trunc: bool) -> str:
    text = text.replace("\t", " ").replace("\n", " ")
    if not no_trunc and len(text) > 45:
        return text[:44] + "…"
    return text


@click.command("history")
@click.argument("image")
@click.option("-H", "--human", type=bool, default=True, help="Print sizes and dates in human "
              "readable format.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--format", "fmt", default="", help="Format output with a template.")
def history_cmd(image: str, human: bool, no_trunc: bool, quiet: bool, fmt: str) -> None:
    """Show the history of an image."""
    rows = _store().history(image)
    for r in rows:
        full = r["Id"]
        r["ID"] = full if no_trunc or full == "<missing>" else full.removeprefix("sha256:")[:12]
        r["CreatedSince"] = _ago(r["Created"]) if human else r["Created"]
        r["CreatedAt"] = r["Created"]
        r["CreatedBy"] = _created_by(r["CreatedBy"], no_trunc)
        r["Size"] = human_size(r["Size"], 3) if human else str(r["Size"])
    if quiet:
        click.echo("\n".join(r["ID"] for r in rows))
        return
    if fmt:
        _render(fmt, rows, {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedBy": "CREATED BY",
                            "Size": "SIZE", "Comment": "COMMENT"})
        return
    _table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
           [[r["ID"], r["CreatedSince"], r["CreatedBy"], r["Size"], r["Comment"]] for r in rows])


@click.command("tag")
@click.argument("source")
@click.argument("target")
def tag_cmd(source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    from dockyard.engine.image_verbs import tag_image

    tag_image(app_context().roots, _store(), source, target)


# -- rmi, prune ----------------------------------------------------------------------------
@click.command("rmi")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents.")
def rmi_cmd(images: tuple[str, ...], force: bool, no_prune: bool) -> None:
    """Remove one or more images."""
    store = _store()

    def remove(ref: str) -> None:
        from dockyard.engine.image_verbs import remove_image

        for change in remove_image(app_context().roots, store, ref, force):
            for key, value in change.items():
                click.echo(f"{key}: {value}")
    _fail_each(list(images), remove)


@click.command("prune")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused images, not just "
              "dangling ones.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, help="Provide filter values.")
def prune_cmd(all_: bool, force: bool, filters: tuple[str, ...]) -> None:
    """Remove unused images."""
    if filters:
        raise InvalidArgument(f"invalid filter {filters[0]!r}: filters are not supported yet")
    if not force:
        what = ("all images without at least one container associated to them" if all_
                else "all dangling images")
        click.echo(f"WARNING! This will remove {what}.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    deleted, reclaimed = _store().prune(all=all_)
    if deleted:
        click.echo("Deleted Images:")
        for event in deleted:
            for key, value in event.items():
                click.echo(f"{key.lower()}: {value}")
        click.echo()
    click.echo(f"Total reclaimed space: {human_size(reclaimed, 3)}")


# -- save, load, import --------------------------------------------------------------------
@click.command("save")
@click.argument("images", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to a file, "
              "instead of STDOUT.")
@click.option("--format", "fmt", type=click.Choice(["oci", "docker", "both"]), default="both",
              help="Archive format: an OCI layout, a docker-archive, or both (default).")
def save_cmd(images: tuple[str, ...], output: str | None, fmt: str) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    from dockyard.images import save, total_size

    store = _store()
    if not output and sys.stdout.isatty():
        raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or "
                              "redirect")
    with _progress("saving", total_size(store, list(images))) as progress:
        if not output:
            save(store, list(images), sys.stdout.buffer, fmt, progress)
        else:
            _save_to(store, list(images), Path(output), fmt, progress)
    from dockyard.engine.image_verbs import log_saved

    log_saved(app_context().roots, store, list(images))


def _save_to(store: Any, images: list[str], dest: Path, fmt: str, progress: Any) -> None:
    """Write the archive to ``dest`` atomically (a temp file renamed into place)."""
    from dockyard.images import save

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent or ".")
    except OSError as err:
        raise InvalidArgument(f"save: {dest}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            save(store, images, f, fmt, progress)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@click.command("load")
@click.option("-i", "--input", "input_", type=click.Path(dir_okay=False, exists=True),
              help="Read from tar archive file, instead of STDIN.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
def load_cmd(input_: str | None, quiet: bool) -> None:
    """Load images from a tar archive (docker-archive or OCI layout)."""
    from dockyard.images import load

    store = _store()
    if input_ is None and sys.stdin.isatty():
        raise InvalidArgument("requested load from stdin, but stdin is empty")
    src: BinaryIO = open(input_, "rb") if input_ else sys.stdin.buffer  # noqa: SIM115
    try:
        total = os.fstat(src.fileno()).st_size if input_ else None
        with _progress("loading", total if not quiet else 0) as progress:
            lines = load(store, src, progress, unpack=True)  # like docker: layers applied
    finally:
        if input_:
            src.close()
    from dockyard.engine.image_verbs import log_loaded

    log_loaded(app_context().roots, store, list(lines))
    if not quiet:
        for line in lines:
            click.echo(line)


@click.command("import")
@click.argument("file")
@click.argument("reference", required=False, default="")
@click.option("-c", "--change", "changes", multiple=True, help="Apply Dockerfile instruction "
              "to the created image.")
@click.option("-m", "--message", default="", help="Set commit message for imported image.")
@click.option("--platform", default="", help="Set platform if server is multi-platform "
              "capable.")
def import_cmd(file: str, reference: str, changes: tuple[str, ...], message: str,
               platform: str) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    from dockyard.images import import_rootfs
    from dockyard.oci import Platform

    if "://" in file:
        raise InvalidArgument(f"import {file}: importing from a URL is not supported")
    store = _store()
    plat = Platform.parse(platform) if platform else None
    if file == "-":
        img = import_rootfs(store, sys.stdin.buffer, reference, changes=list(changes),
                            message=message, platform=plat)
    else:
        try:
            src = open(file, "rb")  # noqa: SIM115
        except OSError as err:
            raise InvalidArgument(f"import {file}: {err.strerror}") from None
        with src, _progress("importing", os.fstat(src.fileno()).st_size) as progress:
            reader = cast(BinaryIO, _Counting(src, progress)) if progress else src
            img = import_rootfs(store, reader, reference, source=file, changes=list(changes),
                                message=message, platform=plat)
    from dockyard.engine.image_verbs import log_imported

    log_imported(app_context().roots, str(img.id))
    click.echo(str(img.id))


class _Counting:
    """A reader that reports the bytes read to a progress bar."""

    def __init__(self, src: BinaryIO, progress: ProgressFn) -> None:
        self.src, self.progress = src, progress

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        self.progress(len(data))
        return data


def register(group: click.Group) -> None:
    """Add the image commands to the root group (and an ``image`` management group)."""
    image = group.commands.get("image")
    if not isinstance(image, click.Group):
        image = click.Group("image", help="Manage images.")
        group.add_command(image)
    for name, cmd in (("ls", images_cmd), ("list", images_cmd), ("inspect", inspect_cmd),
                      ("history", history_cmd), ("tag", tag_cmd), ("rm", rmi_cmd),
                      ("prune", prune_cmd), ("save", save_cmd), ("load", load_cmd),
                      ("import", import_cmd)):
        image.add_command(cmd, name)
    for name, cmd in (("images", images_cmd), ("history", history_cmd), ("tag", tag_cmd),
                      ("rmi", rmi_cmd), ("save", save_cmd), ("load", load_cmd),
                      ("import", import_cmd)):
        group.add_command(cmd, name)
