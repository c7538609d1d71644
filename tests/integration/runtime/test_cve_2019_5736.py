"""CVE-2019-5736 class: a container cannot overwrite the interpreter the runtime runs on.

The runtime here runs on a private copy of its interpreter (so that a failure corrupts
the copy, never the machine's Python), and no other process executes that copy once
the runtime's commands have returned: without protection the attacks below succeed.
Both follow the CVE: get a descriptor of the runtime's executable while a runtime
process runs it, wait until nothing runs it any more, reopen it for writing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from dockyard.runtime.capabilities import CAPABILITIES
from dockyard.runtime.landlock import abi
from dockyard.runtime.launcher import runtime_python, write_launcher
from tests.integration.runtime.conftest import Bundle, run_cmd

pytestmark = pytest.mark.skipif(abi() < 2, reason="the kernel has no Landlock ABI 2")


@pytest.fixture
def copied(tmp_path: Path) -> tuple[list[str], Path]:
    """A launcher running the runtime on a copy of its interpreter; (command, copy)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    copy = bindir / "dockyard-python-copy"
    shutil.copy2(os.path.realpath(runtime_python()), copy)
    return [str(write_launcher(bindir / "dockyard-runtime", python=str(copy)))], copy


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_for(path: Path, timeout: float = 20, until: str = "") -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text() if path.exists() else ""
        if text.strip() and (not until or until in text.split()):
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never appeared (or never said {until!r})")


def _create(rt: list[str], root: Path, bundle_dir: Path, cid: str) -> None:
    with open(bundle_dir / f"{cid}.err", "w+") as err:  # a pipe would stay open in PID 1
        r = subprocess.run([*rt, "--root", str(root), "create", "--bundle", str(bundle_dir),
                            cid], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=err, timeout=30, check=False)
        err.seek(0)
        assert r.returncode == 0, err.read()


def _start(rt: list[str], root: Path, bundle: Bundle, cid: str) -> None:
    _create(rt, root, bundle.path, cid)
    r = run_cmd([*rt, "--root", str(root), "start", cid])
    assert r.returncode == 0, r.stderr


# The attacker: given the pid of the runtime's waiting init in its pid namespace, keep
# a descriptor of its executable, and once told (the init is gone), write through it.
_PTRACE_ATTACK = r"""
i=0; while [ ! -s /go1 ] && [ $i -lt 400 ]; do /bin/sleep 0.05; i=$((i+1)); done
pid=$(/bin/cat /go1)
if (exec 3< /proc/$pid/exe) 2>/dev/null; then exec 3< /proc/$pid/exe; echo open:ok >> /log
else echo open:denied >> /log; fi
if (echo x >> /proc/$pid/exe) 2>/dev/null; then r=direct:wrote; else r=direct:denied; fi
echo $r >> /log
echo ready >> /log
i=0; while [ ! -e /go2 ] && [ $i -lt 400 ]; do /bin/sleep 0.05; i=$((i+1)); done
if (echo pwned >> /proc/self/fd/3) 2>/dev/null; then r=late:wrote; else r=late:denied; fi
echo $r >> /log
echo done >> /log
/bin/sleep 30
"""


def test_ptrace_capable_container_cannot_write_the_runtime_interpreter(
        copied: tuple[list[str], Path], state_root: Path, bundle: Bundle,
        tmp_path: Path) -> None:
    rt, copy = copied
    before = _digest(copy)
    rootfs = bundle.rootfs
    caps = bundle.config["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted"):
        caps[s] = sorted(set(caps[s]) | {"CAP_SYS_PTRACE"})
    bundle.write(args=["/bin/sh", "-c", _PTRACE_ATTACK])
    _start(rt, state_root, bundle, "attacker")
    attacker_pid = json.loads(run_cmd([*rt, "--root", str(state_root), "state",
                                       "attacker"]).stdout)["pid"]
    # A second container joins the attacker's pid namespace and waits in create:
    # its init is the runtime's interpreter, visible to the attacker.
    victim = tmp_path / "victim"
    victim.mkdir()
    config = json.loads((bundle.path / "config.json").read_text())
    config["process"]["args"] = ["/bin/true"]
    config["linux"]["cgroupsPath"] += "-victim"
    config["linux"]["namespaces"] = [
        {"type": "pid", "path": f"/proc/{attacker_pid}/ns/pid"} if n["type"] == "pid" else n
        for n in config["linux"]["namespaces"]]
    (victim / "config.json").write_text(json.dumps(config))
    _create(rt, state_root, victim, "victim")
    state = json.loads(run_cmd([*rt, "--root", str(state_root), "state", "victim"]).stdout)
    assert state["status"] == "created"
    with open(f"/proc/{state['pid']}/status") as f:
        nspid = next(line.split()[-1] for line in f if line.startswith("NSpid:"))
    assert os.path.realpath(f"/proc/{state['pid']}/exe") == str(copy)
    (rootfs / "go1").write_text(nspid)
    _wait_for(rootfs / "log", until="ready")
    # Nothing runs the copy any more: without protection the next write succeeds.
    r = run_cmd([*rt, "--root", str(state_root), "delete", "--force", "victim"])
    assert r.returncode == 0, r.stderr
    (rootfs / "go2").touch()
    log = _wait_for(rootfs / "log", until="done").split()
    assert log == ["open:denied", "direct:denied", "ready", "late:denied", "done"]
    assert _digest(copy) == before


# Run as the container's process by ``exec``: the kernel starts this script's
# interpreter, /proc/self/exe of the exec'ing runtime process, i.e. the runtime's own
# interpreter, inside the container (its /usr is the host's, read-only, so it runs).
_SHEBANG_ATTACK = """#!/proc/self/exe
import os
fd = os.open("/proc/self/exe", os.O_RDONLY)
os.set_inheritable(fd, True)
open("/ran", "w").write(os.readlink("/proc/self/exe"))
script = ("/bin/sleep 1; if (echo pwned >> /proc/self/fd/%d) 2>/dev/null; "
          "then echo WROTE > /result; else echo DENIED > /result; fi" % fd)
os.execv("/bin/sh", ["sh", "-c", script])
"""


def test_exec_of_a_proc_self_exe_script_cannot_write_the_runtime_interpreter(
        copied: tuple[list[str], Path], state_root: Path, bundle: Bundle) -> None:
    rt, copy = copied
    before = _digest(copy)
    rootfs = bundle.rootfs
    for link, target in (("lib", "usr/lib"), ("lib64", "usr/lib64")):
        if not (rootfs / link).exists() and Path("/" + target).is_dir():
            (rootfs / link).symlink_to(target)
    bundle.config["mounts"].append({"destination": "/usr", "type": "bind", "source": "/usr",
                                    "options": ["rbind", "ro"]})
    (rootfs / "evil").write_text(_SHEBANG_ATTACK)
    (rootfs / "evil").chmod(0o755)
    bundle.write(args=["/bin/sleep", "30"])
    _start(rt, state_root, bundle, "target")
    r = run_cmd([*rt, "--root", str(state_root), "exec", "--detach", "target", "/evil"])
    assert r.returncode == 0, r.stderr
    assert "dockyard-python-copy" in _wait_for(rootfs / "ran")
    assert _wait_for(rootfs / "result").strip() == "DENIED"
    assert _digest(copy) == before


def test_containers_that_may_mount_are_not_confined(state_root: Path, bundle: Bundle,
                                                     runtime_cmd: list[str]) -> None:
    """Landlock forbids mount: a container with CAP_SYS_ADMIN still mounts."""
    caps = bundle.config["process"]["capabilities"]
    for s in ("bounding", "effective", "permitted"):
        caps[s] = sorted(set(caps[s]) | {"CAP_SYS_ADMIN"})
    assert "CAP_SYS_ADMIN" in CAPABILITIES
    bundle.write(args=["/bin/sh", "-c", "/bin/mount -t tmpfs t /mnt && echo mounted"])
    (bundle.rootfs / "mnt").mkdir(exist_ok=True)
    r = run_cmd([*runtime_cmd, "--root", str(state_root), "run", "--bundle",
                 str(bundle.path), "mounter"])
    assert (r.returncode, r.stdout.strip()) == (0, "mounted"), r.stderr


def test_confined_containers_still_write_inside_and_to_their_stdio(
        state_root: Path, bundle: Bundle, runtime_cmd: list[str], tmp_path: Path) -> None:
    script = ("echo a > /tmp/f && mv /tmp/f /root/g && cat /root/g && rm /root/g && "
              "mkdir /tmp/d && ln -s x /tmp/d/l && echo to-stdout >> /dev/stdout && "
              "echo to-stderr > /dev/stderr")
    bundle.write(args=["/bin/sh", "-c", script])
    out = tmp_path / "out.txt"
    with open(out, "w") as f:  # a host file as stdout: reopened through /proc/self/fd/1
        p = subprocess.run([*runtime_cmd, "--root", str(state_root), "run", "--bundle",
                            str(bundle.path), "writer"], stdout=f, stderr=subprocess.PIPE,
                           text=True, timeout=30, check=False)
    assert p.returncode == 0, p.stderr
    assert out.read_text().split() == ["a", "to-stdout"]
    assert p.stderr.strip() == "to-stderr"


def test_confine_writes_allows_only_beneath_the_root_and_the_given_files(
        tmp_path: Path) -> None:
    from dockyard.runtime.landlock import confine_writes

    inside, outside = tmp_path / "inside", tmp_path / "outside"
    inside.mkdir()
    outside.mkdir()
    given = outside / "given"
    given.write_text("")
    pid = os.fork()
    if pid == 0:  # the child reports through its exit code: one bit per expectation
        code = 0
        try:
            root = os.open(inside, os.O_PATH | os.O_DIRECTORY)
            kept = os.open(given, os.O_RDONLY)
            if not confine_writes(root, [kept]):
                os._exit(100)
            (inside / "d").mkdir()
            (inside / "d" / "f").write_text("x")
            os.rename(inside / "d" / "f", inside / "g")
            with open(f"/proc/self/fd/{kept}", "a") as f:
                f.write("ok")
            for attempt in (lambda: (outside / "new").write_text("x"),
                            lambda: os.rename(inside / "g", outside / "g"),
                            lambda: os.unlink(given)):
                try:
                    attempt()
                    code |= 1
                except PermissionError:
                    pass
                except OSError:
                    code |= 2  # EXDEV and friends: refused, but not by the rules
        except BaseException:
            code |= 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert given.read_text() == "ok" and (inside / "g").read_text() == "x"
    assert not (outside / "new").exists()
