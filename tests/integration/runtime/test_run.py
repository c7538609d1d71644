"""``dockyard-runtime run`` confines a busybox process (issue 2, must-show 1 and 6)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.integration.runtime.conftest import Bundle, run_cmd


def _run(runtime_cmd: list[str], state_root: Path, bundle: Bundle, script: str,
         cid: str = "c1", **kw: object) -> tuple[int, str, str]:
    bundle.write(args=["sh", "-c", script])
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "run", "-b", str(bundle.path), cid],
                **kw)  # type: ignore[arg-type]
    return r.returncode, r.stdout, r.stderr


def test_pid1_hostname_proc_network_and_root(runtime_cmd: list[str], state_root: Path,
                                             bundle: Bundle, tmp_path: Path) -> None:
    (bundle.rootfs / "marker").write_text("inside-the-bundle\n")
    host_only = tmp_path / "host-only-file"
    host_only.write_text("secret\n")
    bundle.config["hostname"] = "yard-test"
    script = ("echo pid=$$; hostname; ls /proc | grep -E '^[0-9]+$' | tr '\\n' ' '; echo; "
              "ls /sys/class/net | tr '\\n' ' '; echo; cat /marker; "
              f"cat {host_only} 2>&1 || echo unreachable; true")
    code, out, err = _run(runtime_cmd, state_root, bundle, script)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "pid=1"
    assert lines[1] == "yard-test"
    pids = lines[2].split()
    # sh (1), the pipeline's ls and grep: nothing of the host.
    assert "1" in pids and all(int(p) < 10 for p in pids), pids
    assert lines[3].split() == ["lo"]
    assert lines[4] == "inside-the-bundle"
    assert lines[-1] == "unreachable"
    assert not list(state_root.iterdir()), "run must remove the container"


def test_exit_status_is_the_containers(runtime_cmd: list[str], state_root: Path,
                                       bundle: Bundle) -> None:
    code, _, _ = _run(runtime_cmd, state_root, bundle, "exit 7")
    assert code == 7
    # PID 1 ignores its own SIGKILL inside its namespace: kill it from outside.
    bundle.write(args=["sleep", "30"])
    proc = subprocess.Popen([*runtime_cmd, "--root", str(state_root), "run", "-b",
                             str(bundle.path), "c2"])
    try:
        deadline = time.monotonic() + 10
        while run_cmd([*runtime_cmd, "--root", str(state_root), "state", "c2"]).stdout \
                .find('"running"') < 0:
            assert time.monotonic() < deadline, "container never ran"
            time.sleep(0.02)
        r = run_cmd([*runtime_cmd, "--root", str(state_root), "kill", "c2", "KILL"])
        assert r.returncode == 0, r.stderr
        assert proc.wait(timeout=10) == 137
    finally:
        proc.kill()
        proc.wait()


def _fds_of_pid1(runtime_cmd: list[str], state_root: Path, bundle: Bundle,
                 create_prefix: str, extra: str = "") -> list[str]:
    """Create and start ``sleep`` as PID 1 through ``sh`` (so descriptors can be set up
    for the runtime), then list its descriptors with ``exec``."""
    bundle.write(args=["sleep", "30"])
    rt = " ".join([*runtime_cmd, "--root", str(state_root)])
    create = f"{create_prefix} exec {rt} create {extra} -b {bundle.path} c1"
    with open(bundle.path / "create.err", "w+") as err:  # a pipe would stay open in PID 1
        r = subprocess.run(["sh", "-c", create], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=err, timeout=30)
        err.seek(0)
        assert r.returncode == 0, err.read()
    assert run_cmd([*runtime_cmd, "--root", str(state_root), "start", "c1"]).returncode == 0
    r2 = run_cmd([*runtime_cmd, "--root", str(state_root), "exec", "c1", "ls", "/proc/1/fd"])
    assert r2.returncode == 0, r2.stderr
    return r2.stdout.split()


def test_only_stdio_descriptors_reach_the_container(runtime_cmd: list[str], state_root: Path,
                                                    bundle: Bundle) -> None:
    # fds 3 and 7 are open (not close-on-exec) in the runtime: neither may get through.
    assert _fds_of_pid1(runtime_cmd, state_root, bundle, "exec 3</dev/null 7</dev/null;") \
        == ["0", "1", "2"]


def test_preserve_fds_passes_exactly_those(runtime_cmd: list[str], state_root: Path,
                                           bundle: Bundle) -> None:
    assert _fds_of_pid1(runtime_cmd, state_root, bundle, "exec 3</dev/null 4</dev/null;",
                        "--preserve-fds 1") == ["0", "1", "2", "3"]


def test_cwd_symlink_out_of_rootfs_is_confined(runtime_cmd: list[str], state_root: Path,
                                               bundle: Bundle) -> None:
    (bundle.rootfs / "escape").symlink_to("../../../../../../..")
    bundle.write(cwd="/escape")
    code, out, err = _run(runtime_cmd, state_root, bundle, "pwd -P; ls -d bin")
    assert code == 0, err
    assert out.split() == ["/", "bin"]


def test_cwd_symlink_to_host_path_is_refused(runtime_cmd: list[str], state_root: Path,
                                             bundle: Bundle, tmp_path: Path) -> None:
    host_dir = tmp_path / "host-dir"
    host_dir.mkdir()
    (bundle.rootfs / "evil").symlink_to(host_dir)
    bundle.write(cwd="/evil")
    code, _, err = _run(runtime_cmd, state_root, bundle, "pwd -P")
    assert code != 0
    assert "process.cwd" in err and "/evil" in err
    assert err.count("\n") == 1
    assert not list(state_root.iterdir())


def test_mount_destination_symlink_stays_inside(runtime_cmd: list[str], state_root: Path,
                                                bundle: Bundle, tmp_path: Path) -> None:
    host_target = tmp_path / "host-target"
    host_target.mkdir()
    src = tmp_path / "src"
    src.mkdir()
    (src / "payload").write_text("bound\n")
    (bundle.rootfs / "evil").symlink_to(host_target)
    bundle.config["mounts"].append({"destination": "/evil/sub", "type": "bind",
                                    "source": str(src), "options": ["rbind", "ro"]})
    code, out, err = _run(runtime_cmd, state_root, bundle, "cat /evil/sub/payload")
    assert code == 0, err
    assert out == "bound\n"
    assert not (host_target / "sub").exists(), "the mount escaped the rootfs"
    inside = bundle.rootfs / str(host_target).lstrip("/") / "sub"
    assert inside.is_dir()


def test_readonly_rootfs_and_masked_paths(runtime_cmd: list[str], state_root: Path,
                                          bundle: Bundle) -> None:
    # /proc/kcore does not exist on this kernel; /proc/timer_list is masked alike.
    bundle.config["root"]["readonly"] = True
    script = ("touch /x 2>/dev/null && echo rootfs-writable; "
              "echo timer_list=$(wc -c < /proc/timer_list) keys=$(cat /proc/keys | wc -c) "
              "fw=$(ls /sys/firmware | wc -l); "
              "echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable; "
              "touch /dev/shm/ok && echo shm-ok; true")
    code, out, err = _run(runtime_cmd, state_root, bundle, script)
    assert code == 0, err
    assert out.split() == ["timer_list=0", "keys=0", "fw=0", "shm-ok"], err


def test_missing_command_fails_at_create(runtime_cmd: list[str], state_root: Path,
                                         bundle: Bundle) -> None:
    bundle.write(args=["/no/such/binary"])
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "run", "-b", str(bundle.path),
                 "c1"])
    assert r.returncode != 0
    assert "/no/such/binary" in r.stderr and r.stderr.count("\n") == 1
    assert not list(state_root.iterdir())


def test_masking_refuses_a_dev_null_that_is_not_the_null_device(
        runtime_cmd: list[str], state_root: Path, bundle: Bundle) -> None:
    """The 2025 masked-path escapes: a container-supplied /dev/null symlinked to a host
    file would get that file bound over the masked paths."""
    dev = bundle.rootfs / "dev"
    (dev / "null").symlink_to("/proc/sys/kernel/core_pattern")
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if not m["destination"].startswith("/dev")]
    bundle.config["mounts"].append({"destination": "/dev", "type": "bind",
                                    "source": str(dev), "options": ["rbind"]})
    before = Path("/proc/sys/kernel/core_pattern").read_text()
    code, _, err = _run(runtime_cmd, state_root, bundle, "true")
    assert code == 1
    assert "/dev/null" in err and "not the null device" in err, err
    assert Path("/proc/sys/kernel/core_pattern").read_text() == before
    assert not list(state_root.iterdir())
