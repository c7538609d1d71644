"""Health checks, run by the container's monitor (docker's ``daemon/health.go`` rules).

The engine resolves the check at start (``health`` in the launch file): the argv of the
runtime's ``exec`` with a process file holding the test command, the intervals in
nanoseconds, the retries and the ``--health-on-failure`` action. The monitor asks
:class:`HealthCheck` when a probe is due, spawns it (:class:`Probe`, output through a
pipe it reads in its event loop), kills it at its timeout, and feeds the result back.

State machine: ``starting`` until the first success (``healthy``); each failure adds to
``FailingStreak`` (not while ``starting`` within the start period) and ``retries``
failures in a row make it ``unhealthy``; a success resets the streak. ``Log`` keeps the
last five results, each output cut to 4096 bytes plus ``...`` as docker does.
Imported by the monitor process: standard library, light modules only.
"""

from __future__ import annotations

import os
import time

from dockyard.engine.logs.timefmt import format_nano

from .verbs import run_verb, status_code

__all__ = ["DEFAULTS", "MAX_LOG_ENTRIES", "MAX_OUTPUT", "HealthCheck", "Probe"]

MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096
SECOND = 1_000_000_000
# docker's defaults: interval 30s, timeout 30s, start period 0, start interval 5s, 3 retries
DEFAULTS = {"interval": 30 * SECOND, "timeout": 30 * SECOND, "start_period": 0,
            "start_interval": 5 * SECOND, "retries": 3}


def _setting(cfg: dict[str, object], key: str) -> int:
    value = cfg.get(key)
    return int(str(value)) if value else DEFAULTS[key]


def go_duration(ns: int) -> str:
    """Go's ``Duration.String`` for the whole-unit values timeouts use (``30s``, ``1.5s``,
    ``1m0s``, ``500ms``)."""
    if ns < SECOND:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size or unit == "ns":
                whole, rest = divmod(ns, size)
                frac = f"{rest:0{len(str(size)) - 1}d}".rstrip("0") if rest else ""
                return f"{whole}{'.' + frac if frac else ''}{unit}"
    secs, rest = divmod(ns, SECOND)
    frac = f"{rest:09d}".rstrip("0")
    h, secs = divmod(secs, 3600)
    m, secs = divmod(secs, 60)
    text = f"{secs}{'.' + frac if frac else ''}s"
    if h:
        return f"{h}h{m}m{text}"
    if m:
        return f"{m}m{text}"
    return text


class HealthCheck:
    """The schedule and the ``State.Health`` record of one container's check."""

    def __init__(self, cfg: dict[str, object]) -> None:
        self.cfg = cfg
        self.interval = _setting(cfg, "interval")
        self.timeout = _setting(cfg, "timeout")
        self.start_period = _setting(cfg, "start_period")
        self.start_interval = _setting(cfg, "start_interval")
        self.retries = _setting(cfg, "retries")
        self.on_failure = str(cfg.get("on_failure") or "none")
        self.health: dict[str, object] = {"Status": "starting", "FailingStreak": 0, "Log": []}
        self.started_ns = 0
        self.next_due = 0.0  # time.monotonic() of the next probe

    def reset(self, started_ns: int) -> None:
        """The container (re)started: ``starting`` again, first probe one interval on."""
        self.started_ns = started_ns
        self.health["Status"] = "starting"
        self.health["FailingStreak"] = 0
        self.schedule(time.monotonic(), started_ns)

    def current_interval(self, now_ns: int) -> int:
        """docker 25's rule: the start interval while starting within the start period."""
        if now_ns - self.started_ns >= self.start_period:
            return self.interval
        return self.start_interval if self.health["Status"] == "starting" else self.interval

    def schedule(self, now_mono: float, now_ns: int) -> None:
        self.next_due = now_mono + self.current_interval(now_ns) / SECOND

    def record(self, result: dict[str, object]) -> str | None:
        """Apply one probe result; the new status if it changed (for the event)."""
        old = self.health["Status"]
        log = self.health["Log"]
        assert isinstance(log, list)
        log.append(result)
        del log[:-MAX_LOG_ENTRIES]
        if result["ExitCode"] == 0:
            self.health["FailingStreak"] = 0
            self.health["Status"] = "healthy"
        else:
            within_start = (old == "starting" and
                            int(str(result["_start_ns"])) - self.started_ns < self.start_period)
            if not within_start:
                streak = int(str(self.health["FailingStreak"])) + 1
                self.health["FailingStreak"] = streak
                if streak >= self.retries:
                    self.health["Status"] = "unhealthy"
        result.pop("_start_ns", None)
        new = str(self.health["Status"])
        return new if new != old else None

    def timeout_result(self, start_ns: int) -> dict[str, object]:
        return {"Start": format_nano(start_ns), "End": format_nano(time.time_ns()),
                "ExitCode": -1,
                "Output": f"Health check exceeded timeout ({go_duration(self.timeout)})",
                "_start_ns": start_ns}


class Probe:
    """One running check: the runtime's ``exec`` with its output on a pipe."""

    def __init__(self, argv: list[str], pid_file: str, timeout_ns: int) -> None:
        self.pid_file = pid_file
        try:
            os.unlink(pid_file)
        except FileNotFoundError:
            pass
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.fd, w = os.pipe2(os.O_CLOEXEC)
        try:
            self.pid = run_verb(argv, null, w, w)
        finally:
            os.close(null)
            os.close(w)
        os.set_blocking(self.fd, False)
        self.start_ns = time.time_ns()
        self.deadline = time.monotonic() + timeout_ns / SECOND
        self.output = bytearray()
        self.truncated = False
        self.status: int | None = None
        self.timed_out = False

    def read(self) -> bool:
        """Take what the check printed; False at end of output."""
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return True
            except OSError:
                data = b""
            if not data:
                return False
            room = MAX_OUTPUT - len(self.output)
            if room > 0:
                self.output += data[:room]
            if len(data) > room:
                self.truncated = True

    def kill(self) -> None:
        """The check hangs: kill its process in the container, then the runtime's exec."""
        self.timed_out = True
        for pid in (self._container_pid(), self.pid):
            if pid:
                try:
                    os.kill(pid, 9)
                except (ProcessLookupError, PermissionError):
                    pass

    def _container_pid(self) -> int:
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        if self.fd >= 0:
            self.read()
            os.close(self.fd)
            self.fd = -1

    def result(self) -> dict[str, object]:
        """docker's ``HealthcheckResult`` (plus the start time in ns for the streak rule)."""
        out = bytes(self.output).decode("utf-8", "replace") + ("..." if self.truncated else "")
        code = status_code(self.status) if self.status is not None else -1
        return {"Start": format_nano(self.start_ns), "End": format_nano(time.time_ns()),
                "ExitCode": code, "Output": out, "_start_ns": self.start_ns}
