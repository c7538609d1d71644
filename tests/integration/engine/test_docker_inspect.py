"""``inspect`` side by side with docker 20.10 for containers made with the same flags.

Each case gives the docker CLI's flags and the Config/HostConfig dicts that the docker
CLI itself sends for them (what cli/ builds from the same flags). The documents must
have the same keys at every level, the same Config and HostConfig values apart from
what depends on ids, times and paths, and a State of the same shape.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest

from tests.support.dockerd import DOCKER, Dockerd

IMAGE = "dytest/busybox:1"
DOCKER_CLI = [DOCKER or "docker"]
MB = 1024 * 1024
CLI_DEFAULTS: dict[str, Any] = {  # what the docker CLI sends when no flag says otherwise
    "config": {"AttachStdout": True, "AttachStderr": True, "Image": IMAGE, "Labels": {}},
    "host": {"NetworkMode": "none", "LogConfig": {"Type": "", "Config": {}},
             "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "Dns": [],
             "DnsOptions": [], "DnsSearch": [], "PortBindings": {}, "ConsoleSize": [0, 0],
             "BlkioWeightDevice": [], "Devices": []},
}
CASES: list[tuple[str, list[str], dict[str, Any], dict[str, Any]]] = [
    ("plain", ["true"], {"Cmd": ["true"]}, {}),
    ("flags",
     ["-m", "32m", "--memory-swap", "64m", "--memory-reservation", "16m", "--cpus", "0.5",
      "--cpu-shares", "512", "--cpuset-cpus", "0", "--pids-limit", "50",
      "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--read-only",
      "--security-opt", "no-new-privileges", "--ulimit", "nofile=1024:2048",
      "--hostname", "box", "--init", "-e", "A=1", "-w", "/tmp", "-u", "1000",
      "-l", "x=y", "--stop-signal", "SIGINT", "--stop-timeout", "3",
      "--oom-kill-disable", "--device", "/dev/null:/dev/mynull:rwm",
      "--blkio-weight", "300", "--device-read-bps", "/dev/null:1mb",
      "--entrypoint", "/bin/sh", IMAGE, "-c", "echo hi"],
     {"Cmd": ["-c", "echo hi"], "Entrypoint": ["/bin/sh"], "Hostname": "box",
      "Env": ["A=1"], "WorkingDir": "/tmp", "User": "1000", "Labels": {"x": "y"},
      "StopSignal": "SIGINT", "StopTimeout": 3},
     {"Memory": 32 * MB, "MemorySwap": 64 * MB, "MemoryReservation": 16 * MB,
      "NanoCpus": 500_000_000, "CpuShares": 512, "CpusetCpus": "0", "PidsLimit": 50,
      "CapAdd": ["NET_ADMIN"], "CapDrop": ["MKNOD"], "ReadonlyRootfs": True,
      "SecurityOpt": ["no-new-privileges"],
      "Ulimits": [{"Name": "nofile", "Hard": 2048, "Soft": 1024}], "Init": True,
      "OomKillDisable": True, "BlkioWeight": 300,
      "BlkioDeviceReadBps": [{"Path": "/dev/null", "Rate": MB}],
      "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                   "CgroupPermissions": "rwm"}]}),
    ("hostnet", ["--network", "host", "--init=false", IMAGE, "true"], {"Cmd": ["true"]},
     {"NetworkMode": "host", "Init": False}),
    ("memory-only", ["-m", "64m", "--privileged", "-t", "-i", IMAGE, "sh"],
     {"Cmd": ["sh"], "Tty": True, "OpenStdin": True, "AttachStdin": True,
      "StdinOnce": True},
     {"Memory": 64 * MB, "Privileged": True}),
]
# Values that name ids, times or host paths, or the daemon's own choices.
VOLATILE = {"Id", "Created", "Image", "ResolvConfPath", "HostnamePath", "HostsPath",
            "LogPath", "Name", "GraphDriver", "NetworkSettings", "State", "Config",
            "HostConfig"}


def _keys(doc: Any, path: str = "") -> set[str]:
    if isinstance(doc, dict):
        out = set()
        for k, v in doc.items():
            out.add(f"{path}/{k}")
            out |= _keys(v, f"{path}/{k}")
        return out
    return set()


def _docker_args(flags: list[str]) -> list[str]:
    return flags if IMAGE in flags else [IMAGE, *flags]


@pytest.mark.peer
@pytest.mark.slow
def test_inspect_matches_docker(dockerd: Dockerd, busybox_rootfs_template: Any,
                                engine: Any, images: Any) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    images.add("dytest/busybox", {})
    for name, flags, config, host in CASES:
        args = _docker_args(flags)
        docker_flags = args[:args.index(IMAGE)]
        network = [] if "--network" in docker_flags else ["--network", "none"]
        made = dockerd.docker("create", "--name", name, *network, *docker_flags,
                              *args[args.index(IMAGE):])
        theirs = json.loads(dockerd.docker("inspect", name).stdout)[0]
        cfg = {**CLI_DEFAULTS["config"], **config}
        hc = {**CLI_DEFAULTS["host"], **host}
        if "Hostname" not in config and host.get("NetworkMode") == "host":
            config = {**config, "Hostname": theirs["Config"]["Hostname"]}
        for warning in engine.create(name, cfg, hc)["Warnings"]:
            assert warning in made.stderr, name
        ours = engine.inspect(name)
        # Nothing in the Docker document is missing from ours, nor the reverse.
        skip = ("/GraphDriver/Data/", "/NetworkSettings/Networks/")
        assert {k for k in _keys(theirs) if not k.startswith(skip)} == \
            {k for k in _keys(ours) if not k.startswith(skip)}, name
        assert list(ours) == list(theirs), name
        assert list(ours["HostConfig"]) == list(theirs["HostConfig"]), name
        assert list(ours["Config"]) == list(theirs["Config"]), name
        for key in theirs:
            if key in VOLATILE:
                continue
            assert ours[key] == theirs[key], (name, key)
        their_hc = dict(theirs["HostConfig"])
        our_hc = dict(ours["HostConfig"])
        # Each daemon's default runtime: dockerd's is runc, ours our own (or
        # DOCKYARD_RUNTIME); a runtime the case names is the same on both.
        if "Runtime" not in host:
            from dockyard.engine.runtimes import default_runtime

            assert their_hc.pop("Runtime") == "runc"
            assert our_hc.pop("Runtime") == default_runtime()
        assert our_hc == their_hc, name
        their_cfg, our_cfg = dict(theirs["Config"]), dict(ours["Config"])
        if "Hostname" not in config:  # the first 12 digits of each one's own id
            assert their_cfg.pop("Hostname") == theirs["Id"][:12]
            assert our_cfg.pop("Hostname") == ours["Id"][:12]
        their_cfg.pop("Image")
        assert our_cfg.pop("Image") == IMAGE
        assert our_cfg == their_cfg, name
        assert {k: type(v) for k, v in ours["State"].items()} == \
            {k: type(v) for k, v in theirs["State"].items()}
        assert ours["State"]["Status"] == theirs["State"]["Status"] == "created"
        assert ours["NetworkSettings"]["Networks"].keys() == \
            theirs["NetworkSettings"]["Networks"].keys()


@pytest.mark.peer
@pytest.mark.slow
def test_running_state_matches_docker(dockerd: Dockerd, busybox_rootfs_template: Any,
                                      engine: Any, images: Any) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    images.add("dytest/busybox", {})
    dockerd.docker("run", "-d", "--name", "up", "--network", "none", IMAGE, "sleep", "30")
    theirs = json.loads(dockerd.docker("inspect", "up").stdout)[0]
    engine.create("up", {**CLI_DEFAULTS["config"], "Cmd": ["sleep", "30"]},
                  CLI_DEFAULTS["host"])
    engine.start("up")
    ours = engine.inspect("up")
    assert ours["State"].keys() == theirs["State"].keys()
    for key in ("Status", "Running", "Paused", "OOMKilled", "Dead", "ExitCode", "Error"):
        assert ours["State"][key] == theirs["State"][key], key
    assert ours["State"]["Pid"] > 0 and theirs["State"]["Pid"] > 0
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")
    for key in ("StartedAt", "FinishedAt"):
        assert stamp.match(ours["State"][key]) and stamp.match(theirs["State"][key]), key
    assert ours["State"]["FinishedAt"] == theirs["State"]["FinishedAt"] == \
        "0001-01-01T00:00:00Z"
    for key in ("ResolvConfPath", "HostnamePath", "HostsPath", "LogPath"):
        assert ours[key].rsplit("/", 1)[-1].replace(ours["Id"], "ID") == \
            theirs[key].rsplit("/", 1)[-1].replace(theirs["Id"], "ID"), key
    engine.stop("up", timeout=0)
    dockerd.docker("stop", "-t", "0", "up")
    theirs = json.loads(dockerd.docker("inspect", "up").stdout)[0]
    ours = engine.inspect("up")
    assert ours["State"]["ExitCode"] == theirs["State"]["ExitCode"] == 137
    assert ours["State"]["Status"] == theirs["State"]["Status"] == "exited"


DEFAULTS_IMAGE = "dytest/defaults:1"
IMAGE_CHANGES = ['ENTRYPOINT ["/bin/sh", "-c"]', 'CMD ["echo from image"]',
                 "ENV FROM_IMAGE=1 SHARED=image", "WORKDIR /srv", "USER daemon",
                 "STOPSIGNAL SIGQUIT", "LABEL layer=image"]
# (docker run flags, the Config the docker CLI sends for them)
COMBOS: list[tuple[list[str], dict[str, Any]]] = [
    ([], {}),
    (["echo hi"], {"Cmd": ["echo hi"]}),
    (["--entrypoint", "/bin/echo"], {"Entrypoint": ["/bin/echo"]}),
    (["--entrypoint", "/bin/echo", "--", "a", "b"],
     {"Entrypoint": ["/bin/echo"], "Cmd": ["a", "b"]}),
    (["--entrypoint", "", "--", "echo", "x"], {"Entrypoint": [""], "Cmd": ["echo", "x"]}),
    (["-e", "SHARED=mine", "-e", "MINE=2"], {"Env": ["SHARED=mine", "MINE=2"]}),
    (["-w", "/tmp", "-u", "1000:1000", "--stop-signal", "SIGUSR1", "-l", "layer=mine"],
     {"WorkingDir": "/tmp", "User": "1000:1000", "StopSignal": "SIGUSR1",
      "Labels": {"layer": "mine"}}),
]


@pytest.mark.peer
@pytest.mark.slow
def test_image_defaults_combine_like_docker(dockerd: Dockerd, busybox_rootfs_template: Any,
                                            engine: Any, images: Any) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    ctx = dockerd.base / "defaults-ctx"
    ctx.mkdir(exist_ok=True)
    (ctx / "Dockerfile").write_text("\n".join([f"FROM {IMAGE}", *IMAGE_CHANGES]) + "\n")
    built = subprocess.run([*DOCKER_CLI, "build", "-q", "-t", DEFAULTS_IMAGE, str(ctx)],
                           env={**dockerd.env(), "DOCKER_BUILDKIT": "0"},
                           capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    image_cfg = json.loads(dockerd.docker("image", "inspect", DEFAULTS_IMAGE).stdout)[0]
    images.add("dytest/defaults", image_cfg["Config"])
    for i, (flags, config) in enumerate(COMBOS):
        name = f"combo{i}"
        split = flags.index("--") if "--" in flags else len(flags)
        if flags and not flags[0].startswith("-"):
            opts, args = [], flags
        else:
            opts, args = flags[:split], flags[split + 1:]
        dockerd.docker("create", "--name", name, "--network", "none", *opts,
                       DEFAULTS_IMAGE, *args)
        theirs = json.loads(dockerd.docker("inspect", name).stdout)[0]
        engine.create(name, {**CLI_DEFAULTS["config"], "Image": DEFAULTS_IMAGE, **config},
                      CLI_DEFAULTS["host"])
        ours = engine.inspect(name)
        for key in ("Path", "Args"):
            assert ours[key] == theirs[key], (flags, key)
        for key in ("Entrypoint", "Cmd", "WorkingDir", "User", "StopSignal", "Labels"):
            assert ours["Config"].get(key) == theirs["Config"].get(key), (flags, key)
        # The user's variables come first (the docker CLI does not keep their order
        # stable), then the image's that the user did not set, in the image's order.
        mine = len(config.get("Env", []))
        our_env, their_env = ours["Config"]["Env"], theirs["Config"]["Env"]
        assert sorted(our_env[:mine]) == sorted(their_env[:mine]), flags
        assert our_env[mine:] == their_env[mine:], flags


SPEC_FLAGS = ["-m", "32m", "--memory-reservation", "16m", "--cpus", "0.5", "--cpu-shares",
              "512", "--pids-limit", "50", "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD",
              "--read-only", "--security-opt", "no-new-privileges", "--ulimit",
              "nofile=1024:2048", "--hostname", "box", "-e", "A=1", "-w", "/tmp",
              "-u", "1000", "--device", "/dev/null:/dev/mynull:rwm", "--shm-size", "32m"]
SPEC_HOST = {"Memory": 32 * MB, "MemoryReservation": 16 * MB, "NanoCpus": 500_000_000,
             "CpuShares": 512, "PidsLimit": 50, "CapAdd": ["NET_ADMIN"],
             "CapDrop": ["MKNOD"], "ReadonlyRootfs": True,
             "SecurityOpt": ["no-new-privileges"], "ShmSize": 32 * MB,
             "Ulimits": [{"Name": "nofile", "Hard": 2048, "Soft": 1024}],
             "Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull",
                          "CgroupPermissions": "rwm"}]}
SPEC_CONFIG = {"Hostname": "box", "Env": ["A=1"], "WorkingDir": "/tmp", "User": "1000",
               "Cmd": ["sleep", "30"]}


def _mount_view(spec: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(m["destination"], m["type"], tuple(m.get("options", [])))
            for m in spec["mounts"] if m["type"] != "bind"]


@pytest.mark.peer
@pytest.mark.slow
def test_config_json_matches_dockers(dockerd: Dockerd, busybox_rootfs_template: Any,
                                     engine: Any, images: Any, roots: Any) -> None:
    dockerd.import_rootfs(busybox_rootfs_template, IMAGE)
    images.add("dytest/busybox", {})
    cid = dockerd.docker("run", "-d", "--name", "spec", "--network", "none", *SPEC_FLAGS,
                         IMAGE, "sleep", "30").stdout.strip()
    found = list((dockerd.base / "exec").rglob(f"{cid}/config.json"))
    assert found, "docker's bundle was not found under its exec-root"
    theirs = json.loads(found[0].read_text())
    ours_id = engine.create("spec", {**CLI_DEFAULTS["config"], **SPEC_CONFIG},
                            {**CLI_DEFAULTS["host"], **SPEC_HOST})["Id"]
    engine.start(ours_id)
    ours = json.loads((roots.run_containers / ours_id / "config.json").read_text())
    tp, op = theirs["process"], ours["process"]
    for key in ("user", "args", "env", "cwd", "capabilities", "rlimits", "noNewPrivileges",
                "oomScoreAdj", "terminal"):
        assert op.get(key) == tp.get(key), key
    assert ours["hostname"] == theirs["hostname"]
    assert ours["root"]["readonly"] == theirs["root"].get("readonly", False)
    assert _mount_view(ours) == _mount_view(theirs)
    assert [m["destination"] for m in ours["mounts"] if m["type"] == "bind"] == \
        [m["destination"] for m in theirs["mounts"] if m["type"] == "bind"]
    tl, ol = theirs["linux"], ours["linux"]
    for key in ("sysctl", "namespaces", "maskedPaths", "readonlyPaths", "devices"):
        assert ol.get(key) == tl.get(key), key
    for key in ("memory", "cpu", "pids"):
        assert ol["resources"].get(key) == tl["resources"].get(key), key
    their_rules = tl["resources"]["devices"]
    assert ol["resources"]["devices"][0] == their_rules[0] == {"allow": False, "access": "rwm"}
    assert all(rule in ol["resources"]["devices"] for rule in their_rules)
    assert ol["seccomp"]["defaultAction"] == tl["seccomp"]["defaultAction"]
    assert set(ol["seccomp"]["architectures"]) == set(tl["seccomp"]["architectures"])
