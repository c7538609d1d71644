"""Restart policies and health checks inside the monitor: the part of ``Monitor`` that
decides what happens after init exits and when to probe.

After init ends and its output is drained, :meth:`Supervision._exited` asks the restart
policy (``restart.RestartManager``) or a pending ``--health-on-failure=restart``: to
restart, the monitor records ``restarting`` (Running and Restarting true, as docker
shows it), emits ``die``, leaves a ``restarting`` marker so the exit hook's tidy leaves
the rootfs mounted, runs the runtime's delete, and after the back-off creates and starts
init again with the same bundle. Health probes (``health.Probe``) are spawned from the
event loop's timers; their results go through ``health.HealthCheck``.
Imported by the monitor process: standard library, light modules only.
"""

from __future__ import annotations

import os
import select
import sys
import time

from dockyard.engine.logs.timefmt import format_nano
from dockyard.engine.logs.writer import LineSplitter
from dockyard.engine.monitor.records import error_exit_code, oom_kill_count
from dockyard.engine.monitor.restart import RestartManager

TYPE_CHECKING = False  # not typing's: importing typing would cost memory
if TYPE_CHECKING:
    from dockyard.engine.monitor.health import HealthCheck, Probe
__all__ = ["RESTARTING", "Supervision"]

RESTARTING = "restarting"  # marker in the run dir: the exit hook's tidy must leave us be


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class Supervision:
    """Mixed into ``Monitor``: restarts, health probes and the container's events."""

    cfg: dict[str, object]
    id: str
    pid: int
    state: dict[str, object]
    exit_status: int | None
    outputs: dict[int, str]
    stdin_fd: int
    splitters: dict[str, LineSplitter]
    ep: select.epoll

    if TYPE_CHECKING:
        def record(self, **changes: object) -> None: ...
        def create(self) -> str | None: ...
        def start(self) -> str | None: ...
        def delete(self) -> None: ...
        def _log(self, stream: str, messages: list[bytes]) -> None: ...
        def _reap(self) -> None: ...
        def release_clients(self, code: int, every: bool = False) -> None: ...

    def _init_supervision(self, cfg: dict[str, object]) -> None:
        policy = cfg.get("restart")
        self.restarts = RestartManager(policy if isinstance(policy, dict) else None)
        health = cfg.get("health")
        self.health: HealthCheck | None = None
        if isinstance(health, dict):  # loaded only by monitors with a check (memory)
            from dockyard.engine.monitor.health import HealthCheck

            self.health = HealthCheck(health)
        self.probe: Probe | None = None
        self.probe_exec = ""  # the exec id its events name
        self.manual_stop = False  # a user stopped or killed it: no restart
        self.forced_restart = False  # --health-on-failure=restart
        self.restart_at: float | None = None  # monotonic time of a pending restart
        self.kill_at: float | None = None  # --health-on-failure=stop: SIGKILL after this
        self.finish_now = False
        self.started_mono = 0.0

    def _started(self, now_ns: int) -> None:
        """Init is running (first start or a restart): the health check starts over."""
        self.started_mono = time.monotonic()
        if self.health is not None:
            self.health.reset(now_ns)
            self.state["Health"] = self.health.health

    def set_policy(self, policy: object) -> None:
        """A new restart policy; the back-off and the count carry on."""
        new = RestartManager(policy if isinstance(policy, dict) else None)
        new.count, new.timeout = self.restarts.count, self.restarts.timeout
        self.restarts = new

    def stopping(self) -> None:
        """A user's stop or kill: never undone by the restart policy; a pending restart is
        dropped and the monitor finishes."""
        self.manual_stop = True
        if self.restart_at is not None:
            self.restart_at = None
            self.finish_now = True

    # -- events ----------------------------------------------------------------------
    def emit(self, action: str, **extra: str) -> None:
        """Append a container event to the engine's event log (never fatal)."""
        path = self.cfg.get("events")
        if not path:
            return
        from dockyard.engine.events import append, event

        attrs = dict(self.cfg.get("event_attrs") or {})  # type: ignore[call-overload]
        attrs.update(extra)
        try:
            append(str(path), event("container", action, self.id, attrs))
        except OSError as e:
            sys.stderr.write(f"monitor: event {action}: {e}\n")

    # -- restarts and health checks --------------------------------------------------
    def _exited(self) -> bool:
        """Init has ended and its output is drained: True if a restart is now pending."""
        code = self.exit_status if self.exit_status is not None else 255
        if self.forced_restart:
            self.forced_restart = False
            self.restarts.count += 1
            delay: float | None = 0.0
        else:
            ran_for = time.monotonic() - self.started_mono
            delay = self.restarts.next_delay(code, self.manual_stop, ran_for)
        if delay is None:
            return False
        self._stop_probe()
        for stream, splitter in self.splitters.items():
            self._log(stream, splitter.flush())
        oom = oom_kill_count(self.cfg) > 0
        if oom:
            self.emit("oom")
        self.emit("die", exitCode=str(code))
        with open(RESTARTING, "w"):
            pass
        self.record(Status="restarting", Running=True, Restarting=True, Pid=0, ExitCode=code,
                    OOMKilled=oom, FinishedAt=format_nano(time.time_ns()))
        self.release_clients(code)
        self.delete()
        if self.stdin_fd >= 0:
            if self.stdin_fd not in self.outputs:
                os.close(self.stdin_fd)
            self.stdin_fd = -1
        self.exit_status = None
        self.pid = 0  # gone: nothing may signal that number until the new init runs
        self.restart_at = time.monotonic() + delay
        return True

    def _restart(self) -> bool:
        """Create and start init again (the policy's or the health check's restart)."""
        self.restart_at = None
        self.splitters = {"stdout": LineSplitter(), "stderr": LineSplitter()}
        err = self.create()
        _unlink(RESTARTING)
        if err is None:
            self.state["Status"] = "created"
            self.state["RestartCount"] = int(str(self.state.get("RestartCount", 0))) + 1
            err = self.start()
        if err is not None:
            sys.stderr.write(f"monitor: restart: {err}\n")
            self.state.update(Error=err, ExitCode=error_exit_code(err))
            self.finish_now = True
            return False
        for fd in self.outputs:
            os.set_blocking(fd, False)
            self.ep.register(fd, select.EPOLLIN)
        if self.stdin_fd >= 0 and self.stdin_fd not in self.outputs:
            os.set_blocking(self.stdin_fd, False)
        self._reap()
        return True

    def _timers(self) -> None:
        now = time.monotonic()
        if self.kill_at is not None and now >= self.kill_at:
            self.kill_at = None
            self._kill_init(9)
        probe = self.probe
        if probe is not None and probe.status is None and not probe.timed_out \
                and now >= probe.deadline:
            probe.kill()
        health = self.health
        if health is None or probe is not None or self.exit_status is not None \
                or self.restart_at is not None or not self.state.get("Running") \
                or now < health.next_due:
            return
        if os.path.exists("paused"):
            health.schedule(now, time.time_ns())
            return
        argv = health.cfg.get("argv")
        assert isinstance(argv, list)
        from dockyard.engine.monitor.health import Probe

        try:
            self.probe = Probe([str(a) for a in argv], str(health.cfg.get("pid_file")),
                               health.timeout)
        except OSError as e:
            sys.stderr.write(f"monitor: health check: {e}\n")
            health.schedule(now, time.time_ns())
            return
        self.ep.register(self.probe.fd, select.EPOLLIN)
        self.probe_exec = os.urandom(32).hex()
        words = str(health.cfg.get("words") or "")
        self.emit("exec_create: " + words, execID=self.probe_exec)
        self.emit("exec_start: " + words, execID=self.probe_exec)

    def _timer_timeout(self, timeout: float) -> float:
        now = time.monotonic()
        due = [t for t in (self.kill_at, self.restart_at) if t is not None]
        if self.probe is not None and self.probe.status is None:
            due.append(self.probe.deadline)
        elif self.health is not None and self.probe is None and self.state.get("Running"):
            due.append(self.health.next_due)
        if not due:
            return timeout
        left = max(0.0, min(due) - now) + 0.001
        return left if timeout < 0 else min(timeout, left)

    def _probe_done(self) -> None:
        probe, health = self.probe, self.health
        assert probe is not None and health is not None
        self.probe = None
        if probe.fd >= 0:
            self.ep.unregister(probe.fd)
        probe.close()
        result = health.timeout_result(probe.start_ns) if probe.timed_out else probe.result()
        if probe.status is not None:
            from dockyard.engine.monitor.verbs import status_code

            self.emit("exec_die", execID=self.probe_exec, exitCode=str(status_code(probe.status)))
        changed = health.record(result)
        health.schedule(time.monotonic(), time.time_ns())
        if self.exit_status is not None or not self.state.get("Running"):
            return
        self.record(Health=health.health)
        if changed is not None:
            self.emit("health_status: " + changed)
        if health.health["Status"] == "unhealthy" and changed is not None:
            self._on_unhealthy(health.on_failure)

    def _on_unhealthy(self, action: str) -> None:
        """podman's ``--health-on-failure``: none, kill, restart or stop."""
        if action == "kill":
            self._kill_init(9)
        elif action == "restart":
            self.forced_restart = True
            self._kill_init(9)
        elif action == "stop":
            self.manual_stop = True
            self._kill_init(int(str(self.cfg.get("stop_signal") or 15)))
            self.kill_at = time.monotonic() + float(str(self.cfg.get("stop_timeout") or 10))

    def _kill_init(self, sig: int) -> None:
        if self.pid and self.exit_status is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def _stop_probe(self) -> None:
        probe = self.probe
        if probe is None:
            return
        self.probe = None
        probe.kill()
        if probe.fd >= 0:
            self.ep.unregister(probe.fd)
        probe.close()
        try:
            os.waitpid(probe.pid, 0)
        except ChildProcessError:
            pass

