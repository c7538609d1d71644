"""The image commands' output, flags and exit codes, as docker prints them."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

import dockyard.cli.main as cli_main
from dockyard.settings import Roots
from tests.unit.images.conftest import make_tar

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(roots: Roots, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setattr(cli_main, "COMMAND_MODULES", ["dockyard.cli.images"])

    def go(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            fake = io.TextIOWrapper(io.BytesIO(stdin))
            monkeypatch.setattr("sys.stdin", fake)
        try:
            code = cli_main.main(["--root", str(roots.root), "--run-root", str(roots.run_root),
                                  *args])
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return code, out, err
    return go


def test_empty_list_prints_docker_header(run: Run) -> None:
    assert run("images") == (0, "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n", "")


def test_import_list_tag_history_rmi(run: Run) -> None:
    code, out, _ = run("import", "-c", "CMD [\"/x\"]", "-m", "hello", "-", "me/app:v1",
                       stdin=make_tar({"x": b"1"}))
    assert code == 0 and out.startswith("sha256:") and len(out.strip()) == 71
    iid = out.strip()
    code, out, _ = run("images")
    lines = out.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert lines[1].split()[:3] == ["me/app", "v1", iid[7:19]]
    assert lines[1].endswith("10.2kB") and "ago" in lines[1]
    assert run("tag", "me/app:v1", "other")[0] == 0
    assert run("images", "-q") == (0, iid[7:19] + "\n", "")
    assert sorted(run("images", "--format", "{{.Repository}}:{{.Tag}}")[1].splitlines()) == \
        ["me/app:v1", "other:latest"]
    assert run("image", "ls", "--filter", "reference=other")[1].count("\n") == 2
    assert run("history", "-q", "other") == (0, iid[7:19] + "\n", "")
    code, out, _ = run("history", "other")
    assert out.splitlines()[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE",
                                           "COMMENT"]
    assert out.splitlines()[1].rstrip().endswith("hello")
    code, out, _ = run("image", "inspect", "other")
    info = json.loads(out)
    assert info[0]["Id"] == iid and info[0]["Config"]["Cmd"] == ["/x"]
    assert run("image", "inspect", "-f", "{{.Id}}", "other")[1] == iid + "\n"
    assert run("rmi", "me/app:v1") == (0, "Untagged: me/app:v1\n", "")
    assert run("rmi", "other") == (0, f"Untagged: other:latest\nDeleted: {iid}\n", "")


def test_missing_images_exit_1_and_say_so(run: Run) -> None:
    code, out, err = run("rmi", "nope")
    assert code == 1 and out == ""
    assert err == "Error response from daemon: no such image: nope\n"
    code, out, err = run("image", "inspect", "nope")
    assert (code, out, err) == (1, "[]\n", "Error: no such image: nope\n")


def test_bad_reference_and_change_are_one_line_errors(run: Run) -> None:
    code, out, err = run("import", "-", "Bad", stdin=make_tar({"x": b"1"}))
    assert code == 1 and out == ""
    assert err == "Error: invalid reference format: 'Bad': repository name must be lowercase\n"
    code, _, err = run("import", "-c", "RUN x", "-", stdin=make_tar({"x": b"1"}))
    assert code == 1 and err.count("\n") == 1 and "unsupported instruction RUN" in err
    code, _, err = run("import", "-", stdin=b"not a tar" * 100)
    assert code == 1 and err.startswith("Error: -: not a tar archive")
    assert run("images", "-q") == (0, "", "")


def test_save_load_prune(run: Run, tmp_path: Path) -> None:
    run("import", "-", "keep", stdin=make_tar({"k": b"1"}))
    iid = run("import", "-", stdin=make_tar({"d": b"2"}))[1].strip()
    archive = tmp_path / "a.tar"
    assert run("save", "-o", str(archive), "keep") == (0, "", "")
    assert archive.stat().st_size > 0 and not list(tmp_path.glob(".a.tar.*"))
    code, out, _ = run("image", "prune", "-f")
    head, _, total = out.rpartition("Total reclaimed space: ")
    assert head == f"Deleted Images:\ndeleted: {iid}\n\n"
    assert re.fullmatch(r"10\.\dkB\n", total)  # the 10 KiB layer, its config and manifest
    assert run("rmi", "keep")[0] == 0
    assert run("load", "-i", str(archive)) == (0, "Loaded image: keep:latest\n", "")
    assert run("load", "-q", "-i", str(archive)) == (0, "", "")
    code, _, err = run("save", "-o", str(archive), "--format", "tar", "keep")
    assert code != 0 and "tar" in err
    code, _, err = run("save", "-o", str(tmp_path / "no" / "dir.tar"), "keep")
    assert code == 1 and err == f"Error: save: {tmp_path}/no/dir.tar: No such file or directory\n"


def test_filters_files_and_bad_tags(run: Run, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(make_tar({"f": b"1"}))
    code, out, _ = run("import", str(rootfs), "named:1")
    assert code == 0 and out.startswith("sha256:")
    run("import", "-", stdin=make_tar({"g": b"2"}))
    rows = run("images", "--filter", "dangling=true")[1].splitlines()
    assert len(rows) == 2 and rows[1].split()[:2] == ["<none>", "<none>"]
    rows = run("images", "named")[1].splitlines()
    assert len(rows) == 2 and rows[1].split()[:2] == ["named", "1"]
    code, _, err = run("images", "--filter", "color=red")
    assert code == 1 and err == "Error: invalid filter 'color=red'\n"
    code, _, err = run("tag", "named:1", "Bad/Name")
    assert code == 1 and "invalid reference format: 'Bad/Name'" in err
    code, _, err = run("import", str(tmp_path / "missing.tar"))
    assert code == 1 and err.startswith("Error: import ") and "No such file" in err


def test_progress_bar_goes_to_a_terminal_stderr_only(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from dockyard.cli import images as cli_images

    with cli_images._progress("saving", 100 << 20) as progress:
        assert progress is None  # stderr is not a terminal under pytest
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    with cli_images._progress("saving", 1 << 20) as progress:
        assert progress is None  # small: no bar
    with cli_images._progress("saving", 100 << 20) as progress:
        assert progress is not None
        progress(50 << 20)
    assert capsys.readouterr().out == ""  # never on stdout, which may carry the archive


def test_digest_only_images_show_their_repository(run: Run, roots: Roots) -> None:
    from dockyard.images import ImageStore

    run("import", "-", "reg.io/app:1", stdin=make_tar({"a": b"1"}))
    store = ImageStore(roots)
    img = store.resolve("reg.io/app:1")
    store.register(img.manifest, [], [f"reg.io/app@{img.manifest_digest}"])
    store.remove("reg.io/app:1")
    store.close()
    rows = run("images", "--digests")[1].splitlines()
    assert rows[0].split() == ["REPOSITORY", "TAG", "DIGEST", "IMAGE", "ID", "CREATED", "SIZE"]
    assert rows[1].split()[:4] == ["reg.io/app", "<none>", str(img.manifest_digest),
                                   img.short_id]
    assert run("images", "-f", "dangling=true", "-q") == (0, "", "")
