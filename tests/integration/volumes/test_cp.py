"""``cp`` round trips and the escape corpus: no container symlink, archive entry or race
steers a copy onto the host (CVE-2018-15664), nor a mount out of the root."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from tests.integration.volumes.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
NET = ("--network", "none")


def _tree(root: Path) -> None:
    (root / "d" / "e").mkdir(parents=True)
    (root / "d" / "f").write_bytes(b"data\n")
    os.chown(root / "d" / "f", 1234, 5678)
    os.chmod(root / "d" / "f", 0o4751)  # after chown, which clears set-id bits
    os.link(root / "d" / "f", root / "hard")
    (root / "rel").symlink_to("d/f")
    (root / "abs").symlink_to("/etc/passwd")
    os.lchown(root / "abs", 42, 43)
    os.chmod(root / "d" / "e", 0o700)
    os.chown(root / "d", 7, 8)
    os.utime(root / "d" / "f", (1_000_000, 1_000_000))


def _describe(root: Path) -> dict[str, tuple[object, ...]]:
    out: dict[str, tuple[object, ...]] = {}
    inodes: dict[int, str] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        rel = str(p.relative_to(root))
        first = inodes.setdefault(st.st_ino, rel)
        out[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                    os.readlink(p) if p.is_symlink() else "", first,
                    p.read_bytes() if stat.S_ISREG(st.st_mode) else b"",
                    int(st.st_mtime) if stat.S_ISREG(st.st_mode) else 0)
    return out


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_cp_round_trip_keeps_the_tree(dockyard: Dockyard, tmp_path: Path,
                                      running: bool) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _tree(src)
    args = ("run", "-d") if running else ("create",)
    dockyard.ok(*args, "--name", "box", *NET, "-v", "cpvol:/vol", "busybox", "sleep", "60")
    dockyard.ok("cp", "-a", str(src), "box:/vol/")
    dockyard.ok("cp", "-a", str(src) + "/.", "box:/tmp/flat")
    dockyard.ok("cp", "box:/vol/src", str(tmp_path / "back"))
    dockyard.ok("cp", "box:/tmp/flat/.", str(tmp_path / "flat"))
    assert _describe(tmp_path / "back") == _describe(src)
    assert _describe(tmp_path / "flat") == _describe(src)
    # the copy went through the volume mounted in the container
    volume = Path(dockyard.ok("volume", "inspect", "-f", "{{.Mountpoint}}", "cpvol").strip())
    assert _describe(volume / "src") == _describe(src)
    # tar streams both ways
    stream = subprocess.run(dockyard.argv("cp", "box:/vol/src/d/f", "-"), env=dockyard.env,
                            capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(stream)) as t:
        [member] = t.getmembers()
        assert (member.name, member.mode, member.uid) == ("f", 0o4751, 1234)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("streamed")
        info.size = 3
        t.addfile(info, io.BytesIO(b"abc"))
    r = subprocess.run(dockyard.argv("cp", "-", "box:/tmp"), env=dockyard.env,
                       input=buf.getvalue(), capture_output=True, check=False)
    assert r.returncode == 0, r.stderr
    dockyard.ok("cp", "box:/tmp/streamed", str(tmp_path / "streamed"))
    assert (tmp_path / "streamed").read_bytes() == b"abc"


def test_cp_file_rules(dockyard: Dockyard, tmp_path: Path) -> None:
    dockyard.ok("create", "--name", "box", *NET, "busybox", "true")
    (tmp_path / "f").write_text("one")
    dockyard.ok("cp", str(tmp_path / "f"), "box:/renamed")
    dockyard.ok("cp", "box:/renamed", str(tmp_path / "got"))
    assert (tmp_path / "got").read_text() == "one"
    r = dockyard("cp", "box:/nope", str(tmp_path / "x"))
    assert (r.code, r.err) == (1, "Error: No such container:path: box:/nope\n")
    r = dockyard("cp", str(tmp_path / "nope"), "box:/")
    assert r.code == 1 and f"lstat {tmp_path / 'nope'}: no such file or directory" in r.err
    r = dockyard("cp", "box:/etc", str(tmp_path / "f"))
    assert r.code == 1 and "cannot copy a directory to a file" in r.err
    # the same with more than a pipe's worth of archive: one clean line, nothing else
    (tmp_path / "bigd").mkdir()
    (tmp_path / "bigd" / "blob").write_bytes(os.urandom(300_000))
    dockyard.ok("cp", str(tmp_path / "bigd"), "box:/")
    r = dockyard("cp", "box:/bigd", str(tmp_path / "f"))
    assert (r.code, r.err) == (1, f"Error: cannot copy a directory to a file: "
                                  f"{tmp_path / 'f'}\n")
    dockyard.ok("cp", "box:/bigd", str(tmp_path / "bigback"))
    assert (tmp_path / "bigback" / "blob").read_bytes() == (tmp_path / "bigd" /
                                                            "blob").read_bytes()


# -- the escape corpus ---------------------------------------------------------------------
@pytest.fixture
def hostile(dockyard: Dockyard, tmp_path: Path) -> tuple[Dockyard, Path]:
    """A container whose root is full of links to host places, and a host dir to watch."""
    watch = tmp_path / "watch"
    watch.mkdir()
    (watch / "secret").write_text("host secret")
    script = (f"ln -s / /tmp/toroot; ln -s ../../../../../../ /tmp/up; "
              f"ln -s {watch} /tmp/abswatch; ln -s {watch}/secret /tmp/abssecret; "
              f"mkdir -p {watch}; echo container > {watch}/secret")
    dockyard.ok("run", "--name", "evil", *NET, "busybox", "sh", "-c", script)
    return dockyard, watch


def _host_untouched(watch: Path) -> None:
    assert sorted(os.listdir(watch)) == ["secret"]
    assert (watch / "secret").read_text() == "host secret"


@pytest.mark.parametrize("dest", ["/tmp/toroot/escaped", "/tmp/up/escaped",
                                  "/tmp/abswatch/escaped", "/tmp/abssecret"])
def test_cp_in_through_container_symlinks_stays_inside(hostile: tuple[Dockyard, Path],
                                                       tmp_path: Path, dest: str) -> None:
    d, watch = hostile
    (tmp_path / "payload").write_text("payload")
    d.ok("cp", str(tmp_path / "payload"), f"evil:{dest}")
    _host_untouched(watch)
    assert not Path("/escaped").exists()


@pytest.mark.parametrize(("src", "follow", "want"), [
    ("/tmp/abssecret", True, "container\n"),
    ("/tmp/abswatch/secret", False, "container\n"),
    ("/tmp/up/etc/passwd", False, None),
    ("/tmp/toroot/etc/passwd", True, None),
])
def test_cp_out_through_container_symlinks_reads_the_container(
        hostile: tuple[Dockyard, Path], tmp_path: Path, src: str, follow: bool,
        want: str | None) -> None:
    d, watch = hostile
    out = tmp_path / "out"
    d.ok("cp", *(["-L"] if follow else []), f"evil:{src}", str(out))
    expected = want if want is not None else d.ok("run", "--rm", *NET, "busybox", "cat",
                                                  "/etc/passwd")
    assert out.read_text() == expected
    if want is None:
        assert out.read_text() != Path("/etc/passwd").read_text()
    _host_untouched(watch)


@pytest.mark.parametrize("entries", [
    [("../../../../escaped", b"x")],
    [("lnk", f"SYM:{'/'}"), ("lnk/escaped", b"x")],
    [("up", "SYM:../../../.."), ("up/escaped", b"x")],
    [("h", "LNK:../../../../etc/passwd")],
], ids=["dotdot", "abs-symlink-then-file", "rel-symlink-then-file", "hardlink-out"])
def test_tar_streamed_in_cannot_leave_its_target(hostile: tuple[Dockyard, Path],
                                                 entries: list[tuple[str, object]]) -> None:
    d, watch = hostile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, body in entries:
            info = tarfile.TarInfo(name)
            if isinstance(body, str) and body.startswith("SYM:"):
                info.type, info.linkname = tarfile.SYMTYPE, body[4:]
                t.addfile(info)
            elif isinstance(body, str):
                info.type, info.linkname = tarfile.LNKTYPE, body[4:]
                t.addfile(info)
            else:
                assert isinstance(body, bytes)
                info.size = len(body)
                t.addfile(info, io.BytesIO(body))
    r = subprocess.run(d.argv("cp", "-", "evil:/tmp"), env=d.env, input=buf.getvalue(),
                       capture_output=True, check=False)
    assert r.returncode == 1, r.stdout
    assert b"Error:" in r.stderr
    assert not Path("/escaped").exists()
    _host_untouched(watch)


@pytest.mark.slow
def test_symlink_swapped_during_cp_never_reaches_the_host(dockyard: Dockyard,
                                                          tmp_path: Path) -> None:
    watch = tmp_path / "watch"
    watch.mkdir()
    (watch / "secret").write_text("host secret")
    # /tmp/sw flips between a real directory and a symlink to the host dir's path (which
    # also exists inside the container) as fast as the container can flip it, while cp
    # writes into and reads from /tmp/sw.
    script = (f"mkdir -p {watch}; while true; do ln -sfn {watch} /tmp/sw.new; "
              "mv -T /tmp/sw.new /tmp/sw; rm -rf /tmp/sw; mkdir -p /tmp/sw; "
              "echo container > /tmp/sw/secret; done")
    dockyard.ok("run", "-d", "--name", "racer", *NET, "busybox", "sh", "-c", script)
    (tmp_path / "payload").write_text("payload")
    stop = threading.Event()
    results: list[int] = []

    def copy_loop() -> None:
        for i in range(15):
            if stop.is_set():
                return
            r = dockyard("cp", str(tmp_path / "payload"), f"racer:/tmp/sw/p{i}")
            results.append(r.code)
            out = tmp_path / f"read{i}"
            r = dockyard("cp", "racer:/tmp/sw/secret", str(out))
            if out.exists():
                assert out.read_text() == "container\n"

    worker = threading.Thread(target=copy_loop)
    worker.start()
    worker.join(240)
    stop.set()
    assert len(results) == 15 and 0 in results
    assert dockyard.ok("inspect", "-f", "{{.State.Running}}", "racer") == "true\n"
    _host_untouched(watch)


def test_image_volume_over_proc_sys_dev_is_refused(dockyard: Dockyard,
                                                   tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    for dest in ("/proc", "/sys/kernel", "/dev"):
        (ctx / "Dockerfile").write_text(f"FROM busybox\nVOLUME {dest}\n")
        dockyard.ok("build", "-q", "-t", "procvol", str(ctx))
        r = dockyard("create", *NET, "procvol", "true")
        assert r.code == 125
        assert f"invalid mount destination {dest}" in r.err
        assert dockyard.containers() == [] and dockyard.ok("volume", "ls", "-q") == ""
    # users may bind /dev (docker allows it), never cover /proc
    assert dockyard.ok("run", "--rm", *NET, "-v", "/dev:/dev", "busybox", "ls",
                       "/dev/null") == "/dev/null\n"
    r = dockyard("create", *NET, "-v", "/tmp:/proc/x", "busybox", "true")
    assert r.code == 125 and "invalid mount destination /proc/x" in r.err


def test_mount_destination_through_an_escaping_symlink_is_refused(dockyard: Dockyard,
                                                                  tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nRUN ln -s ../../../../../../tmp /escape && ln -s /proc /p\n")
    dockyard.ok("build", "-q", "-t", "linkimg", str(ctx))
    for dest, words in (("/escape/x", "leads out of the container's root"),
                        ("/p/sys", "resolves to /proc/sys")):
        r = dockyard("run", "--rm", *NET, "-v", f"vv:{dest}", "linkimg", "true")
        assert r.code != 0
        assert words in r.err, r.err
    assert not Path("/tmp/x").exists()


def test_cp_of_a_running_root_skips_kernel_filesystems(dockyard: Dockyard) -> None:
    dockyard.ok("run", "-d", "--name", "whole", *NET, "busybox", "sleep", "60")
    stream = subprocess.run(dockyard.argv("cp", "whole:/", "-"), env=dockyard.env,
                            capture_output=True, check=True, timeout=60).stdout
    with tarfile.open(fileobj=io.BytesIO(stream)) as t:
        names = t.getnames()
    assert "./bin/busybox" in names and "./proc" in names and "./sys" in names
    assert not [n for n in names if n.startswith(("./proc/", "./sys/"))]
