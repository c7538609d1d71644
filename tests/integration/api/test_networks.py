"""``docker network`` through ``dockyard serve``: create, connect, name lookup, remove."""

from __future__ import annotations

import json

import docker

from tests.integration.api.conftest import Served


def test_network_create_connect(served: Served, name: str) -> None:
    net = f"{name}-net"
    served.ok("network", "create", "--subnet", "10.213.7.0/24", net)
    try:
        assert net in served.ok("network", "ls", "--format", "{{.Name}}")
        served.ok("run", "-d", "--name", f"{name}-a", "--network", net, "busybox", "sleep",
                  "60")
        served.ok("run", "-d", "--name", f"{name}-b", "busybox", "sleep", "60")
        served.ok("network", "connect", net, f"{name}-b")
        info = json.loads(served.ok("network", "inspect", net))[0]
        assert len(info["Containers"]) == 2
        # a (on the network from the start) finds b, connected later, by name
        out = served.ok("exec", f"{name}-a", "ping", "-c", "1", "-W", "5", f"{name}-b")
        assert "1 packets received" in out
        served.ok("network", "disconnect", net, f"{name}-b")
        r = served.docker("network", "rm", net)
        assert r.returncode == 1 and "active endpoints" in r.stderr
    finally:
        served.docker("rm", "-f", f"{name}-a", f"{name}-b")
        served.docker("network", "rm", net)
    assert net not in served.ok("network", "ls", "--format", "{{.Name}}")


def test_networks_docker_py(served: Served, name: str) -> None:
    client = docker.DockerClient(base_url=served.host, version="auto")
    try:
        net = client.networks.create(f"{name}-py", driver="bridge", labels={"t": "api"})
        assert net.name == f"{name}-py"
        assert [n.name for n in client.networks.list(filters={"label": "t=api"})] \
            == [f"{name}-py"]
        c = client.containers.run("busybox", ["sleep", "60"], name=name, detach=True,
                                  network=f"{name}-py")
        net.reload()
        assert [x.id for x in net.containers] == [c.id]
        c.remove(force=True)
        net.remove()
    finally:
        client.close()
