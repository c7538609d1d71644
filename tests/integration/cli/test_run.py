"""``dockyard run`` through the real command: output, exit codes, detach, --rm, stdin."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from dockyard.engine.monitor.client import stop_spawner
from tests.integration.cli.conftest import Dockyard

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
REPO = Path(__file__).resolve().parents[3]


def test_readme_demo_prints_from_inside_a_container(dockyard: Dockyard) -> None:
    """The README's demo (scripts/demo's last step, ``demo_run``) against a tmp root."""
    env = dict(dockyard.env, DOCKYARD_ROOT=str(dockyard.root),
               DOCKYARD_RUN_ROOT=str(dockyard.run_root),
               DOCKYARD_VENV=str(Path(dockyard.argv()[0]).parents[1]))
    proc = subprocess.run(["bash", "-c", "source scripts/lib.sh && demo_run"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # The text is made inside the container: its hostname and the kernel's view of PID 1.
    match = re.search(r"hello from a Dockyard container ([0-9a-f]{12}), I am pid (\d+)",
                      proc.stdout)
    assert match, proc.stdout
    assert match.group(2) == "1"
    assert dockyard.containers() == []  # --rm


def test_exit_status_is_the_containers(dockyard: Dockyard) -> None:
    r = dockyard("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                 "echo out; echo err >&2; exit 3")
    assert (r.code, r.out, r.err) == (3, "out\n", "err\n")


def test_run_rm_leaves_nothing(dockyard: Dockyard, cgroup_parent: str) -> None:
    r = dockyard("run", "--rm", "--network", "none", "busybox", "true")
    assert r.code == 0, r.err
    assert dockyard.containers() == []
    assert dockyard.mounts() == []
    # The idle monitor spawner lingers for the next command by design; asked to leave,
    # it does only once no monitor of it is left, so any leftover still shows here.
    assert stop_spawner(dockyard.run_root)
    assert dockyard.processes() == []
    assert not any((dockyard.root / "containers").glob("*/config*")), "a record is left"
    assert not list((dockyard.run_root / "containers").glob("*")) if (
        dockyard.run_root / "containers").exists() else True
    # Our containers' parent only: a dockerd of an earlier test (its own parent, with
    # "-docker" added) may still hold its containers' cgroups.
    cgroups = subprocess.run(["find", "/sys/fs/cgroup", "-maxdepth", "4", "-path",
                              f"*/{cgroup_parent}/*", "-type", "d"],
                             capture_output=True, text=True).stdout.split()
    assert cgroups == []


def test_run_detached_returns_while_container_runs(dockyard: Dockyard) -> None:
    started = time.monotonic()
    r = dockyard("run", "-d", "--name", "sleeper", "--network", "none", "busybox",
                 "sleep", "60")
    assert r.code == 0, r.err
    assert time.monotonic() - started < 10
    cid = r.out.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    # The command has exited; the container is still there, running.
    assert dockyard.ok("inspect", "-f", "{{.State.Running}} {{.Name}}", "sleeper") == \
        "true /sleeper\n"
    assert dockyard.ok("ps", "-q") == cid[:12] + "\n"
    assert dockyard.ok("ps", "--no-trunc", "--format", "{{.ID}} {{.Status}}").startswith(
        f"{cid} Up ")
    assert dockyard.ok("kill", "sleeper") == "sleeper\n"
    assert dockyard.ok("wait", "sleeper") == "137\n"
    assert dockyard.ok("ps", "-a", "--format", "{{.Status}}").startswith("Exited (137)")
    assert dockyard.ok("rm", "sleeper") == "sleeper\n"
    assert dockyard.containers() == []


def test_stdin_with_interactive(dockyard: Dockyard) -> None:
    # Output written before the command could attach is not lost.
    r = dockyard("run", "-i", "--rm", "--network", "none", "busybox", "sh", "-c",
                 "echo first; tr a-z A-Z; echo done >&2; exit 6", input="hello\n")
    assert (r.code, r.out, r.err) == (6, "first\nHELLO\n", "done\n")


def test_flags_reach_the_container(dockyard: Dockyard, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=yes\n")
    r = dockyard("run", "--rm", "--network", "none", "-e", "A=1", "--env-file", str(env_file),
                 "-w", "/tmp", "-u", "1000:1000", "-h", "boxname", "--entrypoint", "sh",
                 "busybox", "-c", 'echo "$A $FROM_FILE $(pwd) $(id -u):$(id -g) $(hostname)"')
    assert (r.code, r.out) == (0, "1 yes /tmp 1000:1000 boxname\n"), r.err


def test_logs_and_stop(dockyard: Dockyard) -> None:
    dockyard.ok("run", "-d", "--name", "talker", "--network", "none", "busybox", "sh", "-c",
                "echo one; echo two >&2; trap 'echo bye; exit 0' TERM; "
                "while true; do sleep 0.1; done")
    deadline = time.monotonic() + 10
    while "one" not in dockyard.ok("logs", "talker") and time.monotonic() < deadline:
        time.sleep(0.05)
    r = dockyard("logs", "talker")
    assert (r.out, r.err) == ("one\n", "two\n")
    assert dockyard.ok("stop", "-t", "5", "talker") == "talker\n"
    assert dockyard.ok("inspect", "-f", "{{.State.ExitCode}} {{.State.Running}}",
                       "talker") == "0 false\n"
    assert dockyard.ok("logs", "--tail", "1", "talker") == "bye\n"


def test_ps_filters_and_formats(dockyard: Dockyard) -> None:
    dockyard.ok("run", "--name", "first", "-l", "tier=a", "--network", "none", "busybox",
                "true")
    assert dockyard("run", "--name", "second", "--network", "none", "busybox", "sh", "-c",
                    "exit 2").code == 2
    assert dockyard.ok("ps", "-q") == ""
    assert dockyard.ok("ps", "-a", "--format", "{{.Names}}") == "second\nfirst\n"
    assert dockyard.ok("ps", "-l", "--format", "{{.Names}}") == "second\n"
    assert dockyard.ok("ps", "-n", "2", "--format", "{{.Names}}") == "second\nfirst\n"
    assert dockyard.ok("ps", "-a", "--filter", "label=tier=a", "--format", "{{.Names}}") == \
        "first\n"
    assert dockyard.ok("ps", "-a", "--filter", "exited=2", "--format", "{{.Names}}") == \
        "second\n"
    assert dockyard.ok("ps", "-a", "--filter", "name=fir", "--format",
                       "{{.Names}} {{.Label \"tier\"}}") == "first a\n"
    assert dockyard.ok("ps", "-a", "--filter", "ancestor=busybox", "--filter",
                       "status=exited", "--format", "{{.Names}}") == "second\nfirst\n"
    first_id = dockyard.ok("inspect", "-f", "{{.Id}}", "first").strip()
    assert dockyard.ok("ps", "-a", "-q", "--no-trunc", "--filter", f"id={first_id[:8]}") == \
        first_id + "\n"
    assert dockyard.ok("ps", "-a", "--filter", "since=first", "--format", "{{.Names}}") == \
        "second\n"
    assert dockyard.ok("ps", "-a", "--filter", "before=second", "--format",
                       "{{.Names}}") == "first\n"
    r = dockyard("ps", "--filter", "colour=red")
    assert r.code == 1 and "colour" in r.err
    table = dockyard.ok("ps", "-a", "--format", "table {{.Names}}\t{{.Command}}")
    assert table.splitlines() == ["NAMES     COMMAND", 'second    "sh -c exit 2"',
                                  'first     "true"']
    header = dockyard.ok("ps", "-a").splitlines()[0]
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                              "PORTS", "NAMES"]


def test_exec_and_commit(dockyard: Dockyard) -> None:
    dockyard.ok("run", "-d", "--name", "box", "--network", "none", "busybox", "sh", "-c",
                "echo data > /file; sleep 60")
    r = dockyard("exec", "-e", "X=1", "-w", "/tmp", "box", "sh", "-c",
                 'echo "$X $(pwd) $(cat /file)"; exit 4')
    assert (r.code, r.out) == (4, "1 /tmp data\n"), r.err
    assert dockyard("exec", "-i", "box", "cat", input="piped\n").out == "piped\n"
    r = dockyard("exec", "box", "nosuchcmd")
    assert r.code == 127 and "nosuchcmd" in r.err
    assert dockyard("exec", "ghost", "true").code == 1
    image_id = dockyard.ok("commit", "-c", 'CMD ["cat", "/file"]', "box", "snap:v1").strip()
    assert image_id.startswith("sha256:")
    assert dockyard.ok("run", "--rm", "--network", "none", "snap:v1") == "data\n"
    assert "A /file" in dockyard.ok("diff", "box").splitlines()
    dockyard.ok("rm", "-f", "box")
    dockyard.ok("rmi", "snap:v1")


def test_foreground_run_forwards_signals(dockyard: Dockyard) -> None:
    proc = subprocess.Popen(
        dockyard.argv("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                      "trap 'echo got-term; exit 7' TERM; echo ready; "
                      "while true; do sleep 0.1; done"),
        env=dockyard.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (proc.returncode, out) == (7, "got-term\n"), err
    assert dockyard.containers() == []


def test_logs_follow_streams_until_the_end(dockyard: Dockyard) -> None:
    dockyard.ok("run", "-d", "--name", "ticker", "--network", "none", "busybox", "sh", "-c",
                "for i in 1 2 3; do echo tick-$i; sleep 0.3; done")
    proc = subprocess.Popen(dockyard.argv("logs", "-f", "-t", "ticker"), env=dockyard.env,
                            stdout=subprocess.PIPE, text=True)
    try:
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = out.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["tick-1", "tick-2", "tick-3"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ", line) for line in lines)
    assert proc.returncode == 0


def test_stop_kills_after_the_timeout(dockyard: Dockyard) -> None:
    dockyard.ok("run", "-d", "--name", "stubborn", "--network", "none", "busybox", "sh", "-c",
                "trap '' TERM; echo ready; while true; do sleep 0.1; done")
    deadline = time.monotonic() + 10
    while "ready" not in dockyard.ok("logs", "stubborn") and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    assert dockyard.ok("stop", "-t", "1", "stubborn") == "stubborn\n"
    assert 1 <= time.monotonic() - started < 10
    assert dockyard.ok("inspect", "-f", "{{.State.ExitCode}} {{.State.Status}}",
                       "stubborn") == "137 exited\n"


@pytest.mark.parametrize(("flags", "script", "expected"), [
    (["--read-only"], "touch /x 2>&1; echo $?", "touch: /x: Read-only file system\n1\n"),
    (["--cap-drop", "ALL"], "grep CapEff /proc/self/status", "CapEff:\t0000000000000000\n"),
    ([], "grep CapEff /proc/self/status", "CapEff:\t00000000a80425fb\n"),  # docker's 14
    (["--ulimit", "nofile=100:200"], "ulimit -n; ulimit -Hn", "100\n200\n"),
    (["--init"], "tr '\\0' ' ' < /proc/1/cmdline | cut -c1-9", "/dev/init\n"),
    (["-m", "64m", "--pids-limit", "50"],
     "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max",
     "67108864\n50\n"),
    (["--cpus", "0.5"],
     "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us",
     "50000\n100000\n"),
])
def test_resource_and_security_flags_take_effect(dockyard: Dockyard, flags: list[str],
                                                 script: str, expected: str) -> None:
    if "/sys/fs/cgroup/" in script and not Path("/sys/fs/cgroup/memory").is_dir():
        pytest.skip("cgroup v1 files are read here; this host has no v1 memory controller")
    r = dockyard("run", "--rm", "--network", "none", *flags, "busybox", "sh", "-c", script)
    assert (r.code, r.out) == (0, expected), r.err


def test_attach_flags_choose_streams(dockyard: Dockyard) -> None:
    script = "echo to-out; echo to-err >&2"
    r = dockyard("run", "--rm", "-a", "stderr", "--network", "none", "busybox", "sh", "-c",
                 script)
    assert (r.code, r.out, r.err) == (0, "", "to-err\n")
    r = dockyard("run", "--rm", "-a", "stdout", "--network", "none", "busybox", "sh", "-c",
                 script)
    assert (r.code, r.out, r.err) == (0, "to-out\n", "")


def test_runtime_and_add_host(dockyard: Dockyard) -> None:
    r = dockyard("run", "--rm", "--network", "none", "--runtime", "runc", "--add-host",
                 "db:10.0.0.2", "busybox", "grep", "db", "/etc/hosts")
    assert (r.code, r.out) == (0, "10.0.0.2\tdb\n"), r.err
    r = dockyard("run", "--rm", "--network", "none", "--runtime", "nosuch", "busybox", "true")
    assert r.code == 125 and "unknown or invalid runtime name: nosuch" in r.err
    assert dockyard.containers() == []


def test_ps_size(dockyard: Dockyard) -> None:
    dockyard.ok("run", "--name", "writer", "--network", "none", "busybox", "sh", "-c",
                "head -c 100000 /dev/zero > /blob")
    size = dockyard.ok("ps", "-a", "--format", "{{.Size}}").strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)kB \(virtual (\d+(?:\.\d+)?)MB\)", size)
    assert match, size
    assert 100 <= float(match.group(1)) < 120
    assert dockyard.ok("ps", "-a", "-s").splitlines()[0].split()[-1] == "SIZE"


def test_stop_handles_containers_together(dockyard: Dockyard) -> None:
    names = [f"stubborn{i}" for i in range(4)]
    for name in names:
        dockyard.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                    "trap '' TERM; while true; do sleep 0.1; done")
    started = time.monotonic()
    r = dockyard("stop", "-t", "2", *names, "ghost")
    elapsed = time.monotonic() - started
    assert r.code == 1
    assert r.out == "".join(f"{n}\n" for n in names)  # in the order given
    assert "No such container: ghost" in r.err
    assert elapsed < 7, f"4 stops of 2 s took {elapsed:.1f} s: not done together"
    assert dockyard.ok("ps", "-a", "--format", "{{.State}}").split() == ["exited"] * 4


def test_rm_runs_keep_their_status_while_others_tidy(dockyard: Dockyard) -> None:
    """``ps`` in other processes tidies (removes) ended --rm containers meanwhile."""
    runs = [subprocess.Popen(dockyard.argv("run", "--rm", "--network", "none", "busybox",
                                           "sh", "-c", f"sleep 0.{i}; exit {i}"),
                             env=dockyard.env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True) for i in range(1, 6)]
    try:
        while any(p.poll() is None for p in runs):
            dockyard("ps", "-a")
    finally:
        for p in runs:
            if p.poll() is None:
                p.kill()
            p.wait()
    assert [p.returncode for p in runs] == [1, 2, 3, 4, 5], [p.stderr.read() for p in runs
                                                            if p.stderr]
    assert dockyard.containers() == []


def test_start_attach(dockyard: Dockyard) -> None:
    dockyard.ok("create", "--name", "later", "--network", "none", "busybox", "sh", "-c",
                "echo from-start; exit 9")
    r = dockyard("start", "-a", "later")
    assert (r.code, r.out) == (9, "from-start\n"), r.err
    assert dockyard.ok("start", "later") == "later\n"
    assert dockyard.ok("wait", "later") == "9\n"


def test_inspect_finds_images_too(dockyard: Dockyard) -> None:
    dockyard.ok("run", "--rm", "--network", "none", "busybox", "true")
    out = dockyard.ok("inspect", "-f", "{{index .RepoTags 0}} {{.Os}}", "busybox")
    assert out == "busybox:latest linux\n"
    r = dockyard("inspect", "--type", "container", "busybox")
    assert (r.code, r.out) == (1, "[]\n")
    assert "No such container: busybox" in r.err
