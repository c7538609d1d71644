"""Must-show 1: the real docker 28 CLI against ``dockyard serve``."""

from __future__ import annotations

import json
import os
import time

import pexpect

from tests.integration.api.conftest import Served
from tests.support.pty import wait_for_prompt


def _spawn(served: Served, *args: str) -> pexpect.spawn:
    child = pexpect.spawn("docker", list(args), env=served.env(), timeout=30,
                          encoding="utf-8")
    child.setwinsize(30, 100)
    return child


def test_run_detached_ps_inspect_logs_stop_rm(served: Served, name: str) -> None:
    cid = served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
                    "echo started; while true; do echo tick; sleep 0.2; done").strip()
    assert len(cid) == 64
    ps = served.ok("ps", "--no-trunc", "--format", "{{.ID}} {{.Names}} {{.Status}}")
    assert f"{cid} {name} Up" in ps
    # the CLI and the server share the engine's roots
    assert cid in served.dockyard.ok("ps", "-q", "--no-trunc")
    info = json.loads(served.ok("inspect", name))[0]
    assert info["Id"] == cid and info["State"]["Running"] is True
    assert info["Config"]["Cmd"][0] == "sh"
    child = _spawn(served, "logs", "-f", name)
    child.expect("started")
    child.expect("tick")
    child.expect("tick")  # new lines keep coming while following
    served.ok("stop", "-t", "1", name)
    child.expect(pexpect.EOF)  # logs -f ends when the container does
    child.close()
    assert child.exitstatus == 0
    assert json.loads(served.ok("inspect", name))[0]["State"]["Running"] is False
    served.ok("rm", name)
    r = served.docker("inspect", name)
    assert r.returncode == 1 and "No such" in r.stderr


def test_run_foreground_exit_code_and_rm(served: Served) -> None:
    r = served.docker("run", "--rm", "--network", "none", "busybox", "sh", "-c",
                      "echo out; echo err >&2; exit 7")
    assert r.returncode == 7
    assert r.stdout == "out\n" and r.stderr.endswith("err\n")


def test_run_it_in_a_pty(served: Served, name: str) -> None:
    child = _spawn(served, "run", "-it", "--name", name, "--network", "none", "busybox", "sh")
    wait_for_prompt(child)
    child.sendline("echo $((6*7))")
    child.expect("42")
    child.sendline("exit 3")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3
    served.ok("rm", name)


def test_exec_plain_and_it(served: Served, name: str) -> None:
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sleep", "60")
    r = served.docker("exec", name, "sh", "-c", "echo in-exec; echo oops >&2; exit 4")
    assert (r.returncode, r.stdout, r.stderr) == (4, "in-exec\n", "oops\n")
    assert served.ok("exec", "-i", name, "cat", input="piped\n") == "piped\n"
    child = _spawn(served, "exec", "-it", name, "sh")
    child.expect("# ")
    child.sendline("echo $((7*6)) from-tty")
    child.expect("42 from-tty")
    child.sendline("stty size")
    child.expect("30 100")  # the client's window reached the exec's pty
    child.setwinsize(40, 120)
    time.sleep(0.3)
    child.sendline("stty size")
    child.expect("40 120")
    child.sendline("exit 9")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 9
    served.ok("rm", "-f", name)


def test_images_tag_rmi(served: Served) -> None:
    served.ok("run", "--rm", "--network", "none", "busybox", "true")
    served.ok("tag", "busybox", "example.test/tagged:v1")
    out = served.ok("images", "--format", "{{.Repository}}:{{.Tag}}")
    assert "busybox:latest" in out and "example.test/tagged:v1" in out
    served.ok("rmi", "example.test/tagged:v1")
    assert "example.test/tagged" not in served.ok("images")


def test_build_classic(served: Served, tmp_path: object) -> None:
    from pathlib import Path

    ctx = Path(str(tmp_path)) / "ctx"
    ctx.mkdir()
    (ctx / "hello.txt").write_text("hello from the context\n")
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nCOPY hello.txt /hello.txt\nRUN echo built-step && cat /hello.txt\n"
        'CMD ["cat", "/hello.txt"]\n')
    out = served.ok("build", "-t", "apibuilt:1", str(ctx), timeout=120)
    assert "built-step" in out and "Successfully tagged apibuilt:1" in out
    r = served.docker("run", "--rm", "--network", "none", "apibuilt:1")
    assert r.stdout == "hello from the context\n"
    iid = served.ok("build", "-q", str(ctx), timeout=120).strip()
    assert iid.startswith("sha256:")


def test_system_df_version_info(served: Served) -> None:
    assert "Images" in served.ok("system", "df")
    assert "Dockyard" in served.ok("version")
    assert "Server Version" in served.ok("info")


def test_events_until(served: Served) -> None:
    start = time.time()
    served.ok("events", "--since", str(int(start) - 1), "--until", str(int(start) + 1))
    assert time.time() - start < 10


def test_commit_diff_export_rename_pause(served: Served, name: str) -> None:
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
              "echo made > /made.txt; sleep 60")
    time.sleep(0.3)
    assert "A /made.txt" in served.ok("diff", name)
    served.ok("pause", name)
    assert json.loads(served.ok("inspect", name))[0]["State"]["Status"] == "paused"
    served.ok("unpause", name)
    served.ok("rename", name, name + "-b")
    iid = served.ok("commit", "-c", "CMD [\"cat\", \"/made.txt\"]", name + "-b",
                    "apicommit:1").strip()
    assert iid.startswith("sha256:")
    r = served.docker("run", "--rm", "--network", "none", "apicommit:1")
    assert r.stdout == "made\n", r.stderr
    import io
    import subprocess
    import tarfile

    export = subprocess.run(["docker", "export", name + "-b"], env=served.env(),
                            capture_output=True, timeout=60, check=True)
    with tarfile.open(fileobj=io.BytesIO(export.stdout)) as tar:
        assert tar.extractfile("made.txt").read() == b"made\n"  # type: ignore[union-attr]
    served.ok("rm", "-f", name + "-b")
    served.ok("rmi", "apicommit:1")


def test_import_save_load(served: Served, tmp_path: object) -> None:
    import io
    import subprocess
    import tarfile
    from pathlib import Path

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    r = subprocess.run(["docker", "import", "-c", "LABEL made=by-import", "-", "apiimp:1"],
                       input=layer.getvalue(), env=served.env(), capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    info_out = json.loads(served.ok("image", "inspect", "apiimp:1"))[0]
    assert info_out["Config"]["Labels"] == {"made": "by-import"}
    archive = Path(str(tmp_path)) / "saved.tar"
    served.ok("save", "-o", str(archive), "apiimp:1")
    served.ok("rmi", "apiimp:1")
    assert "apiimp:1" in served.ok("load", "-i", str(archive))
    assert served.ok("images", "-q", "apiimp:1").strip()
    served.ok("rmi", "apiimp:1")


def test_logs_options_wait_restart_kill(served: Served, name: str) -> None:
    served.ok("run", "-d", "--name", name, "--network", "none", "busybox", "sh", "-c",
              "echo one; echo two; echo three; sleep 60")
    time.sleep(0.5)
    assert served.ok("logs", name) == "one\ntwo\nthree\n"
    assert served.ok("logs", "--tail", "1", name) == "three\n"
    stamped = served.ok("logs", "-t", name).splitlines()
    assert stamped[0].endswith("Z one") and stamped[0][:4].isdigit()
    assert served.ok("logs", "--until", "2000-01-01T00:00:00Z", name) == ""
    assert served.ok("logs", "--since", "1m", name) == "one\ntwo\nthree\n"
    pid = served.ok("inspect", "-f", "{{.State.Pid}}", name)
    served.ok("restart", "-t", "1", name)
    assert served.ok("inspect", "-f", "{{.State.Pid}}", name) != pid
    served.ok("kill", "-s", "KILL", name)  # sh as pid 1 ignores TERM, as under docker
    assert served.ok("wait", name).strip() == "137"
    r = served.docker("kill", name)
    assert r.returncode == 1 and "is not running" in r.stderr
    served.ok("rm", name)


def test_detach_keys_and_reattach(served: Served, name: str) -> None:
    child = _spawn(served, "run", "-it", "--name", name, "--network", "none", "busybox", "sh")
    wait_for_prompt(child)
    child.sendline("echo first-$((1+1))")
    child.expect("first-2")
    child.send("\x10\x11")  # ctrl-p ctrl-q
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert json.loads(served.ok("inspect", name))[0]["State"]["Running"] is True
    child = _spawn(served, "attach", name)
    time.sleep(0.5)
    child.sendline("echo again-$((2+2))")
    child.expect("again-4")
    child.sendline("exit 4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4
    served.ok("rm", name)


def test_publish_port_on_loopback(served: Served, name: str) -> None:
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    served.ok("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "busybox", "sh",
              "-c", "mkdir /www; echo served-by-httpd > /www/index.html; "
              "httpd -f -p 80 -h /www")
    try:
        assert served.ok("port", name).strip() == f"80/tcp -> 127.0.0.1:{port}"
        body = b""
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as r:
                    body = r.read()
                break
            except OSError:
                time.sleep(0.1)
        assert body == b"served-by-httpd\n"
    finally:
        served.ok("rm", "-f", name)


def test_error_messages_are_docker_s(served: Served) -> None:
    """Error bodies are exactly ``application/json``: the client prints the message."""
    r = served.docker("start", "nosuchcontainer")
    assert r.returncode == 1
    assert r.stderr.startswith("Error response from daemon: No such container: "
                               "nosuchcontainer\n")
    r = served.docker("rm", "nosuchcontainer")
    assert r.stderr == "Error response from daemon: No such container: nosuchcontainer\n"


def test_ps_ports_column_matches_the_docker_clients(served: Served, name: str) -> None:
    """``dockyard ps``'s PORTS equals what the docker client renders from our list API
    (regression: the engine's list left ``Ports`` empty)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        loopback = s.getsockname()[1]
    base = 20000 + os.getpid() % 20000
    served.ok("run", "-d", "--name", name, "-p", f"127.0.0.1:{loopback}:80",
              "-p", f"{base}-{base + 1}:{base}-{base + 1}", "--expose", "99",
              "busybox", "sleep", "60")
    try:
        theirs = served.ok("ps", "--filter", f"name={name}", "--format", "{{.Ports}}")
        ours = served.dockyard.ok("ps", "--filter", f"name={name}", "--format",
                                  "{{.Ports}}")
        assert ours == theirs
        assert f"127.0.0.1:{loopback}->80/tcp" in ours and "99/tcp" in ours
    finally:
        served.ok("rm", "-f", name)
