"""Where ``dockyard serve`` listens: socket owner and mode, loopback TCP, TLS with
client certificates, and the refusals."""

from __future__ import annotations

import grp
import os
import socket
import stat
import subprocess
from pathlib import Path

import pytest

from tests.integration.api.conftest import start_serve, stop_serve
from tests.integration.cli.conftest import Dockyard


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(d: Dockyard, *args: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(d.argv("serve", *args), env=d.env, stdout=out, stderr=out,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def test_unix_socket_owner_and_mode(tmp_path: Path, cgroup_parent: str,
                                    session_token: str) -> None:
    d = Dockyard(tmp_path, cgroup_parent)
    sock = f"/tmp/dy-{session_token}-mode.sock"
    proc = start_serve(d, sock, tmp_path / "log")
    try:
        st = os.stat(sock)
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
        try:
            gid = grp.getgrnam("docker").gr_gid
        except KeyError:
            gid = 0
        assert (st.st_uid, st.st_gid) == (0, gid)
        # a second server refuses the socket in use; the first keeps it
        second = _serve(d, "--host", f"unix://{sock}", log=tmp_path / "log2")
        assert second.wait(30) != 0
        assert "another server is listening" in (tmp_path / "log2").read_text()
        assert os.path.exists(sock)
    finally:
        stop_serve(proc)
    assert not os.path.exists(sock)


def test_tcp_refused_off_loopback_without_tls(tmp_path: Path, cgroup_parent: str) -> None:
    d = Dockyard(tmp_path, cgroup_parent)
    proc = _serve(d, "--host", "tcp://0.0.0.0:2375", log=tmp_path / "log")
    assert proc.wait(30) != 0
    assert "without --tlsverify" in (tmp_path / "log").read_text()


def _certs(base: Path) -> dict[str, Path]:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    base.mkdir()
    p = {n: base / n for n in ("ca.pem", "ca-key.pem", "cert.pem", "key.pem", "client.pem",
                               "client-key.pem", "ext.cnf", "server.csr", "client.csr")}
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(p["ca-key.pem"]),
        "-out", str(p["ca.pem"]), "-days", "1", "-subj", "/CN=dockyard-test-ca")
    p["ext.cnf"].write_text("subjectAltName=IP:127.0.0.1\n")
    for name, key, csr, cn in (("cert.pem", "key.pem", "server.csr", "127.0.0.1"),
                               ("client.pem", "client-key.pem", "client.csr", "client")):
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(p[key]), "-out",
            str(p[csr]), "-subj", f"/CN={cn}")
        run("x509", "-req", "-in", str(p[csr]), "-CA", str(p["ca.pem"]), "-CAkey",
            str(p["ca-key.pem"]), "-CAcreateserial", "-out", str(p[name]), "-days", "1",
            "-extfile", str(p["ext.cnf"]))
    return p


def test_tls_with_client_certificates(tmp_path: Path, cgroup_parent: str) -> None:
    d = Dockyard(tmp_path, cgroup_parent)
    certs = _certs(tmp_path / "certs")
    port = _free_port()
    proc = _serve(d, "--host", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert",
                  str(certs["ca.pem"]), "--tlscert", str(certs["cert.pem"]), "--tlskey",
                  str(certs["key.pem"]), log=tmp_path / "log")
    client = tmp_path / "client-certs"
    client.mkdir()
    for src, dst in (("ca.pem", "ca.pem"), ("client.pem", "cert.pem"),
                     ("client-key.pem", "key.pem")):
        (client / dst).write_bytes(certs[src].read_bytes())
    env = dict(os.environ, DOCKER_HOST=f"tcp://127.0.0.1:{port}", DOCKER_TLS_VERIFY="1",
               DOCKER_CERT_PATH=str(client), DOCKER_CONFIG=str(tmp_path / "cfg"))
    try:
        for _ in range(100):
            r = subprocess.run(["docker", "version", "--format", "{{.Server.APIVersion}}"],
                               env=env, capture_output=True, text=True, timeout=30)
            if r.returncode == 0:
                break
            if proc.poll() is not None:
                pytest.fail((tmp_path / "log").read_text())
        assert r.stdout.strip() == "1.43", r.stderr
        # without a client certificate the handshake is refused
        no_cert = dict(env)
        del no_cert["DOCKER_TLS_VERIFY"]
        no_cert["DOCKER_CERT_PATH"] = str(tmp_path / "nothing")
        r = subprocess.run(["docker", "--tls", "version"], env=no_cert, capture_output=True,
                           text=True, timeout=30)
        assert r.returncode != 0
    finally:
        stop_serve(proc)
