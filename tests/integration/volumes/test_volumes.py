"""Named and anonymous volumes, binds and tmpfs through the real command and kernel."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.volumes.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
NET = ("--network", "none")


def _run(d: Dockyard, *args: str) -> str:
    return d.ok("run", "--rm", *NET, *args)


def _volumes(d: Dockyard) -> list[str]:
    return d.ok("volume", "ls", "-q").split()


def _mounts(d: Dockyard, name: str) -> list[dict[str, object]]:
    return list(json.loads(d.ok("inspect", "-f", "{{json .Mounts}}", name)))


def test_named_volume_data_survives_its_container(dockyard: Dockyard) -> None:
    dockyard.ok("run", "--name", "writer", *NET, "-v", "keep:/data", "busybox", "sh", "-c",
                "echo precious > /data/f")
    dockyard.ok("rm", "-v", "writer")  # -v removes anonymous volumes only
    assert _volumes(dockyard) == ["keep"]
    assert _run(dockyard, "-v", "keep:/other", "busybox", "cat", "/other/f") == "precious\n"
    doc = json.loads(dockyard.ok("volume", "inspect", "keep"))[0]
    assert (Path(doc["Mountpoint"]) / "f").read_text() == "precious\n"


@pytest.mark.slow
def test_copy_up_fills_only_an_empty_new_volume(dockyard: Dockyard) -> None:
    listing = _run(dockyard, "-v", "etcvol:/etc", "busybox", "ls", "/etc")
    assert "passwd" in listing.split()
    mountpoint = Path(json.loads(dockyard.ok("volume", "inspect", "etcvol"))[0]["Mountpoint"])
    assert (mountpoint / "passwd").is_file()
    # a volume that holds data is never filled over
    dockyard.ok("volume", "create", "full")
    full = Path(json.loads(dockyard.ok("volume", "inspect", "full"))[0]["Mountpoint"])
    (full / "mine").write_text("mine")
    assert _run(dockyard, "-v", "full:/etc", "busybox", "ls", "/etc") == "mine\n"
    assert sorted(os.listdir(full)) == ["mine"]
    # nocopy: empty
    assert _run(dockyard, "-v", "bare:/etc:nocopy", "busybox", "ls", "-A", "/etc") == ""
    assert _run(dockyard, "--mount", "source=bare2,target=/etc,volume-nocopy", "busybox",
                "ls", "-A", "/etc") == ""


def test_image_volume_is_anonymous_copied_up_and_removed_with_rm_v(
        dockyard: Dockyard, volume_image: str) -> None:
    out = dockyard.ok("run", "--name", "img", *NET, volume_image, "sh", "-c",
                      "cat /data/f; stat -c '%u:%g %a' /data")
    assert out == "img\n7:8 750\n"
    [mount] = _mounts(dockyard, "img")
    assert re.fullmatch(r"[0-9a-f]{64}", str(mount["Name"]))
    assert mount["Destination"] == "/data" and mount["Mode"] == "" and mount["RW"] is True
    assert _volumes(dockyard) == [mount["Name"]]
    dockyard.ok("rm", "-v", "img")
    assert _volumes(dockyard) == []
    # --rm removes them too; a named volume given for the same path is kept
    _run(dockyard, volume_image, "true")
    _run(dockyard, "-v", "named:/data", volume_image, "true")
    assert _volumes(dockyard) == ["named"]


def test_volume_in_use_cannot_be_removed_and_prune_takes_exactly_the_unused(
        dockyard: Dockyard) -> None:
    cid = dockyard.ok("create", *NET, "-v", "busy:/d", "busybox", "true").strip()
    dockyard.ok("volume", "create", "idle")
    dockyard.ok("volume", "create", "--label", "x=y", "idle2")
    r = dockyard("volume", "rm", "busy")
    assert r.code == 1
    assert r.err == f"Error: remove busy: volume is in use - [{cid}]\n"
    out = dockyard.ok("volume", "prune", "-f")
    assert out.startswith("Deleted Volumes:\n")
    assert sorted(out.split("\n\n")[0].splitlines()[1:]) == ["idle", "idle2"]
    assert _volumes(dockyard) == ["busy"]
    dockyard.ok("rm", cid)
    assert dockyard.ok("volume", "rm", "busy") == "busy\n"
    assert _volumes(dockyard) == []


def test_readonly_bind_refuses_writes_and_leaves_the_host_file(dockyard: Dockyard,
                                                               tmp_path: Path) -> None:
    host = tmp_path / "hostdir"
    host.mkdir()
    (host / "f").write_text("original")
    r = dockyard("run", "--rm", *NET, "-v", f"{host}:/h:ro", "busybox", "sh", "-c",
                 "echo changed > /h/f")
    assert r.code == 1 and "Read-only file system" in r.err
    r = dockyard("run", "--rm", *NET, "--mount", f"type=bind,src={host},dst=/h,readonly",
                 "busybox", "touch", "/h/new")
    assert r.code == 1 and "Read-only file system" in r.err
    assert (host / "f").read_text() == "original"
    assert sorted(os.listdir(host)) == ["f"]


def test_readonly_bind_is_recursive(dockyard: Dockyard, tmp_path: Path) -> None:
    host = tmp_path / "outer"
    (host / "inner").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(host / "inner")],
                   check=True)
    try:
        r = dockyard("run", "--rm", *NET, "-v", f"{host}:/h:ro", "busybox", "touch",
                     "/h/inner/x")
        assert r.code == 1 and "Read-only file system" in r.err
        assert os.listdir(host / "inner") == []
    finally:
        subprocess.run(["umount", "-l", str(host / "inner")], check=False)


def test_readwrite_bind_shows_writes_with_the_writers_owner(dockyard: Dockyard,
                                                            tmp_path: Path) -> None:
    host = tmp_path / "shared"
    host.mkdir()
    host.chmod(0o777)
    _run(dockyard, "-u", "1234:5678", "-v", f"{host}:/h", "busybox", "sh", "-c",
         "echo from-container > /h/out")
    st = (host / "out").stat()
    assert (host / "out").read_text() == "from-container\n"
    assert (st.st_uid, st.st_gid) == (1234, 5678)


def test_v_creates_a_missing_host_dir_but_mount_does_not(dockyard: Dockyard,
                                                         tmp_path: Path) -> None:
    missing = tmp_path / "new" / "sub"
    _run(dockyard, "-v", f"{missing}:/x", "busybox", "true")
    assert missing.is_dir()
    other = tmp_path / "absent"
    r = dockyard("run", "--rm", *NET, "--mount", f"type=bind,src={other},dst=/x", "busybox",
                 "true")
    assert r.code == 125
    assert r.err.strip().endswith(f'Error: invalid mount config for type "bind": bind '
                                  f"source path does not exist: {other}")
    assert not other.exists() and dockyard.containers() == []


def test_tmpfs_enforces_its_size_and_leaves_nothing_on_disk(dockyard: Dockyard) -> None:
    dockyard.ok("run", "-d", "--name", "tmp", *NET, "--tmpfs", "/t:size=1m,mode=700",
                "--mount", "type=tmpfs,dst=/m,tmpfs-size=2m", "busybox", "sleep", "60")
    mounts = dockyard.ok("exec", "tmp", "grep", "-E", " /(t|m) ", "/proc/mounts")
    assert re.search(r"^tmpfs /t tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700",
                     mounts, re.M), mounts
    assert "size=2048k" in mounts
    r = dockyard("exec", "tmp", "dd", "if=/dev/zero", "of=/t/secret-scratch", "bs=64k",
                 "count=40")
    assert r.code == 1 and "No space left on device" in r.err
    size = int(dockyard.ok("exec", "tmp", "stat", "-c", "%s", "/t/secret-scratch"))
    assert 0 < size <= 1 << 20
    dockyard.ok("stop", "-t", "0", "tmp")
    for root in (dockyard.root, dockyard.run_root):
        found = subprocess.run(["find", str(root), "-name", "secret-scratch"],
                               capture_output=True, text=True, check=False).stdout
        assert found == ""


def test_volume_with_driver_options_is_mounted_while_used(dockyard: Dockyard) -> None:
    dockyard.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o",
                "o=size=1m", "tv")
    out = _run(dockyard, "-v", "tv:/tv", "busybox", "sh", "-c",
               "grep ' /tv ' /proc/mounts; echo x > /tv/f")
    assert out.startswith("tmpfs /tv tmpfs") and "size=1024k" in out
    mountpoint = json.loads(dockyard.ok("volume", "inspect", "tv"))[0]["Mountpoint"]
    assert mountpoint not in dockyard.mounts()  # unmounted once no container runs
    dockyard.ok("volume", "rm", "tv")


def test_system_df_lists_volumes(dockyard: Dockyard) -> None:
    _run(dockyard, "-v", "sized:/d", "busybox", "sh", "-c",
         "dd if=/dev/zero of=/d/f bs=1000 count=5 2>/dev/null")
    out = dockyard.ok("system", "df", "-v")
    assert re.search(r"^sized\s+0\s+5kB$", out, re.M), out
    summary = dockyard.ok("system", "df")
    assert re.search(r"^Local Volumes\s+1\s+0\s+5kB\s+5kB \(100%\)$", summary, re.M), summary


def test_system_check_clears_what_a_killed_volume_create_left(dockyard: Dockyard) -> None:
    dockyard.ok("volume", "create", "whole")
    leftover = dockyard.root / "volumes" / ".tmp-0123456789abcdef"
    (leftover / "_data").mkdir(parents=True)
    out = dockyard.ok("system", "check")
    assert "volume leftover: .tmp-0123456789abcdef" in out
    assert not leftover.exists()
    assert _volumes(dockyard) == ["whole"]


@pytest.mark.parametrize(("mode", "seen"), [("rslave", True), ("", False)],
                         ids=["rslave", "rprivate-default"])
def test_bind_propagation_when_asked(dockyard: Dockyard, tmp_path: Path, mode: str,
                                     seen: bool) -> None:
    shared = tmp_path / "shared"
    (shared / "later").mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(shared), str(shared)], check=True)
    try:
        subprocess.run(["mount", "--make-shared", str(shared)], check=True)
        spec = f"{shared}:/h" + (f":{mode}" if mode else "")
        dockyard.ok("run", "-d", "--name", "prop", *NET, "-v", spec, "busybox", "sleep", "60")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                        str(shared / "later")], check=True)
        mounts = dockyard.ok("exec", "prop", "cat", "/proc/mounts")
        assert (" /h/later tmpfs " in mounts) == seen, mounts
        [mount] = _mounts(dockyard, "prop")
        assert mount["Propagation"] == (mode or "rprivate")
        dockyard.ok("rm", "-f", "prop")
    finally:
        subprocess.run(["umount", "-R", "-l", str(shared)], check=False)


def test_volumes_from_shares_the_volumes_read_only_when_asked(dockyard: Dockyard) -> None:
    dockyard.ok("create", "--name", "src", *NET, "-v", "shared:/d", "-v", "/anon",
                "busybox", "true")
    _run(dockyard, "--volumes-from", "src", "busybox", "sh", "-c",
         "echo one > /d/f; echo two > /anon/g")
    r = dockyard("run", "--rm", *NET, "--volumes-from", "src:ro", "busybox", "sh", "-c",
                 "cat /d/f /anon/g; echo three > /d/f")
    assert r.out == "one\ntwo\n"
    assert r.code == 1 and "Read-only file system" in r.err
    # the anonymous volume belongs to src: --rm of a borrower leaves it
    assert len(_volumes(dockyard)) == 2
    assert dockyard.ok("volume", "ls", "-q", "-f", "dangling=true") == ""
    assert dockyard.ok("volume", "ls", "-q", "-f", "name=shar") == "shared\n"
    dockyard.ok("rm", "-v", "src")
    assert _volumes(dockyard) == ["shared"]
    assert dockyard.ok("volume", "ls", "-q", "-f", "dangling=true") == "shared\n"
    dockyard.ok("volume", "create", "--label", "team=a", "lab")
    assert dockyard.ok("volume", "ls", "-q", "-f", "label=team=a") == "lab\n"
    assert dockyard.ok("volume", "ls", "-q", "-f", "dangling=false") == ""


@pytest.mark.slow
def test_volume_rm_racing_creates_never_leaves_a_container_without_its_volume(
        dockyard: Dockyard) -> None:
    import concurrent.futures

    def create(i: int) -> int:
        return dockyard("create", "--name", f"r{i}", *NET, "-v", "contested:/d", "busybox",
                        "true").code

    def remove(_: int) -> int:
        return dockyard("volume", "rm", "contested").code

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        jobs = [pool.submit(create if i % 2 else remove, i) for i in range(16)]
        codes = [j.result() for j in jobs]
    assert all(c == 0 for i, c in enumerate(codes) if i % 2)  # every create succeeded
    assert _volumes(dockyard) == ["contested"]  # its users keep it
    for i in range(1, 16, 2):
        [mount] = _mounts(dockyard, f"r{i}")
        assert mount["Name"] == "contested" and Path(str(mount["Source"])).is_dir()
    r = dockyard("volume", "rm", "contested")
    assert r.code == 1 and "volume is in use" in r.err


def test_ps_filters_by_volume(dockyard: Dockyard, tmp_path: Path) -> None:
    dockyard.ok("create", "--name", "withvol", *NET, "-v", "fv:/data", "busybox", "true")
    dockyard.ok("create", "--name", "withbind", *NET, "-v", f"{tmp_path}:/b", "busybox",
                "true")
    dockyard.ok("create", "--name", "plain", *NET, "busybox", "true")
    ps = ("ps", "-a", "--format", "{{.Names}}")
    assert dockyard.ok(*ps, "-f", "volume=fv") == "withvol\n"
    assert dockyard.ok(*ps, "-f", "volume=/b") == "withbind\n"
    assert dockyard.ok(*ps, "-f", "volume=nothing") == ""
    assert dockyard.ok("ps", "-a", "-f", "name=withvol", "--format",
                       "{{.Mounts}} {{.LocalVolumes}}") == "fv 1\n"


def test_local_volume_binding_a_host_dir(dockyard: Dockyard, tmp_path: Path) -> None:
    host = tmp_path / "device"
    host.mkdir()
    (host / "h").write_text("from host\n")
    dockyard.ok("volume", "create", "-o", "type=none", "-o", "o=bind", "-o",
                f"device={host}", "bv")
    assert _run(dockyard, "-v", "bv:/b", "busybox", "sh", "-c",
                "cat /b/h; echo c > /b/c") == "from host\n"
    assert (host / "c").read_text() == "c\n"
    mountpoint = json.loads(dockyard.ok("volume", "inspect", "bv"))[0]["Mountpoint"]
    assert mountpoint not in dockyard.mounts()
    dockyard.ok("volume", "rm", "bv")
    assert sorted(os.listdir(host)) == ["c", "h"]  # removing the volume keeps the device
