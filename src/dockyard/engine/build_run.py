"""RUN steps straight on the OCI runtime: no container record, no monitor.

A build step needs less than a container: its rootfs (an active snapshot the executor
prepared), the /etc files, the spec the engine writes for any container (same
capabilities, seccomp, masked paths, namespaces and network modes), and the runtime's
``run`` verb with the output on a pipe. That saves the monitor's start and the
record's bookkeeping on every RUN. Everything made here is removed before returning.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.settings import Roots

__all__ = ["DirectRun", "RunResult"]

# ``docker build`` gives RUN containers this hostname
HOSTNAME = "buildkitsandbox"


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    output: bytes


class DirectRun:
    """Runs build steps of one engine root on its default runtime."""

    def __init__(self, roots: Roots, cgroup_parent: str) -> None:
        from dockyard.engine.config import HostFacts

        self.roots = roots
        self.cgroup_parent = cgroup_parent.strip("/")
        self.facts = HostFacts.probe()
        self._argv: list[str] | None = None
        # parallel stages ask at once; two threads writing the launcher share its tmp name
        self._argv_lock = threading.Lock()

    def _runtime_argv(self) -> list[str]:
        with self._argv_lock:
            return self._find_runtime_argv()

    def _find_runtime_argv(self) -> list[str]:
        if self._argv is None:
            from dockyard.engine.runtimes import default_runtime, open_runtime

            name = default_runtime()
            runtime = open_runtime(name, self.roots.runtime_state)
            argv = list(runtime.argv)
            if name == "dockyard":
                from dockyard.runtime.launcher import write_launcher

                # the launcher starts faster than ``python -m dockyard.runtime``
                bin_dir = self.roots.root / "bin"
                bin_dir.mkdir(parents=True, exist_ok=True)
                launcher = bin_dir / "dockyard-runtime"
                if not launcher.exists():
                    write_launcher(launcher)
                argv = [str(launcher), *argv[argv.index("--root"):]]
            self._argv = argv
        return self._argv

    @staticmethod
    def _stream(argv: list[str], on_line: Callable[[bytes], None] | None) -> tuple[int, bytes]:
        if on_line is None:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, check=False)
            return proc.returncode, proc.stdout
        chunks: list[bytes] = []
        with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT) as popen:
            assert popen.stdout is not None
            for line in popen.stdout:
                chunks.append(line)
                on_line(line)
        return popen.returncode, b"".join(chunks)

    def run(self, mounts: Sequence[Any], args: Sequence[str], env: Mapping[str, str],
            workdir: str, user: str, network: str,
            extra_mounts: Sequence[Mapping[str, Any]] = (),
            on_line: Callable[[bytes], None] | None = None) -> RunResult:
        """Mount ``mounts`` as the rootfs, run ``args``; the exit code and output.

        ``extra_mounts`` are OCI mount entries added after the engine's own (``RUN
        --mount`` binds and tmpfs, the heredoc scripts at /dev/pipes); their mount
        points must exist already where the layer should not show them. ``on_line``
        gets each line of output as it comes (the live progress view).
        """
        from dockyard.engine import etcfiles, rooted, spec
        from dockyard.engine.config import adapt_host_config
        from dockyard.engine.model import complete_config
        from dockyard.engine.users import resolve_user
        from dockyard.images.snapshots import mount, unmount

        cid = "build-" + secrets.token_hex(16)
        bundle = self.roots.run_root / "build" / cid
        rootfs = bundle / "rootfs"
        rootfs.mkdir(parents=True)
        mode = {"none": "none", "host": "host"}.get(network, "default")
        finished = False
        try:
            mount(mounts, rootfs)
            try:
                files = {"hostname": etcfiles.hostname_file(HOSTNAME),
                         "hosts": etcfiles.hosts_file(mode, HOSTNAME),
                         "resolv.conf": etcfiles.resolv_conf(mode)}
                for name, text in files.items():
                    (bundle / name).write_text(text)
                exec_user = resolve_user(rootfs, user)
                host_workdir = rooted.resolve(rootfs, workdir or "/")
                if not host_workdir.exists():
                    host_workdir.mkdir(parents=True, exist_ok=True)
                path_env = env.get("PATH", spec.DEFAULT_PATH)
                rooted.find_command(rootfs, args[0], path_env, workdir or "/")
                config = complete_config({
                    "Hostname": HOSTNAME, "Cmd": list(args), "WorkingDir": workdir or "/",
                    "User": user, "Env": [f"{k}={v}" for k, v in env.items()]})
                host, _ = adapt_host_config({"NetworkMode": mode}, self.facts)  # type: ignore[typeddict-item]
                inputs = spec.SpecInputs(
                    container_id=cid, rootfs=rootfs, user=exec_user,
                    cgroups_path=f"/{self.cgroup_parent}/{cid}",
                    hostname_path=bundle / "hostname", hosts_path=bundle / "hosts",
                    resolv_conf_path=bundle / "resolv.conf",
                    cgroup_v2=self.facts.cgroup_v2)
                oci = spec.build_spec(config, host, inputs)
                oci["mounts"] = [*oci.get("mounts", []), *map(dict, extra_mounts)]
                (bundle / "config.json").write_text(json.dumps(oci))
                code, output = self._stream([*self._runtime_argv(), "run", "--bundle",
                                             str(bundle), cid], on_line)
                finished = code >= 0  # ``run`` deleted it; a signal may not have
                return RunResult(code, output)
            finally:
                if not finished:
                    with contextlib.suppress(Exception):
                        subprocess.run([*self._runtime_argv(), "delete", "--force", cid],
                                       capture_output=True, check=False)
                unmount(rootfs)
        except OSError as err:
            raise InvalidArgument(f"RUN {' '.join(args)}: {err.strerror or err}") from None
        finally:
            shutil.rmtree(bundle, ignore_errors=True)
            os.makedirs(bundle.parent, exist_ok=True)
