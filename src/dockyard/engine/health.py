"""The engine's side of health checks: validate, merge with the image, hand to the monitor.

``Config.Healthcheck`` is docker's ``HealthConfig`` (``Test``, ``Interval``, ``Timeout``,
``StartPeriod``, ``StartInterval`` in nanoseconds, ``Retries``). ``Test`` is ``["NONE"]``
(disabled), ``["CMD", args...]``, ``["CMD-SHELL", command]`` or empty (inherit the
image's). ``HostConfig.HealthOnFailure`` (not docker's; podman's
``--health-on-failure``) is ``none``, ``kill``, ``restart`` or ``stop``.

At start :func:`monitor_health` writes the check's OCI process file into the bundle
dir and returns the ``health`` section of the monitor's launch file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument

__all__ = ["ON_FAILURE", "check_healthcheck", "merge_healthcheck", "monitor_health",
           "probe_argv"]

ON_FAILURE = ("none", "kill", "restart", "stop")
_MIN = 1_000_000  # docker's containertypes.MinimumDuration (1ms)


def check_healthcheck(hc: dict[str, Any] | None, on_failure: str | None = None) -> None:
    """dockerd's ``verifyContainerSettings`` checks, with its messages."""
    if on_failure not in (None, "", *ON_FAILURE):
        raise InvalidArgument(f"invalid on-failure action: {on_failure!r}: "
                              "must be one of none, kill, restart, stop")
    if not hc:
        return
    for key in ("Interval", "Timeout", "StartPeriod", "StartInterval"):
        value = hc.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"{key} in Healthcheck must be a number of nanoseconds")
        if value != 0 and value < _MIN:
            raise InvalidArgument(f"{key} in Healthcheck cannot be less than 1ms")
    retries = hc.get("Retries") or 0
    if not isinstance(retries, int) or retries < 0:
        raise InvalidArgument("Retries in Healthcheck cannot be negative")
    test = hc.get("Test")
    if test is not None:
        if not isinstance(test, list) or not all(isinstance(t, str) for t in test):
            raise InvalidArgument("Healthcheck Test must be a list of strings")
        if test and test[0] not in ("NONE", "CMD", "CMD-SHELL"):
            raise InvalidArgument(f"unknown type {test[0]!r} in Healthcheck Test")
        if test and test[0] in ("CMD", "CMD-SHELL") and len(test) < 2:
            raise InvalidArgument(f"Healthcheck Test {test[0]} needs a command")


def merge_healthcheck(user: dict[str, Any] | None,
                      image: dict[str, Any] | None) -> dict[str, Any] | None:
    """moby's ``merge``: the image's check, with the user's non-zero fields on top."""
    if user is None:
        return dict(image) if image else None
    out = dict(user)
    if image:
        if not out.get("Test"):
            out["Test"] = image.get("Test")
        for key in ("Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"):
            if not out.get(key) and image.get(key):
                out[key] = image[key]
    return out


def probe_argv(test: list[str], shell: list[str] | None) -> list[str] | None:
    """The command a check runs, or None when there is none (``NONE``, empty)."""
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return list(test[1:])
    if test[0] == "CMD-SHELL":
        return [*(shell or ["/bin/sh", "-c"]), *test[1:]]
    return None


def monitor_health(config: dict[str, Any], host_config: dict[str, Any],
                   spec_process: dict[str, Any], run_dir: Path,
                   exec_argv: Any) -> dict[str, Any] | None:
    """The monitor's ``health`` section; ``exec_argv(process_file, pid_file)`` is the
    runtime's exec command line."""
    hc = config.get("Healthcheck") or {}
    argv = probe_argv(list(hc.get("Test") or []), config.get("Shell"))
    if argv is None:
        return None
    proc = dict(spec_process)
    proc.update(args=argv, terminal=False)
    proc.pop("consoleSize", None)
    process_file = run_dir / "health-process.json"
    process_file.write_text(json.dumps(proc))
    pid_file = run_dir / "health.pid"
    return {
        "argv": exec_argv(str(process_file), str(pid_file)), "pid_file": str(pid_file),
        # dockerd logs each probe as an exec: "exec_create: <entrypoint> <args>"
        "words": f"{argv[0]} {' '.join(argv[1:])}",
        "interval": hc.get("Interval") or 0, "timeout": hc.get("Timeout") or 0,
        "start_period": hc.get("StartPeriod") or 0,
        "start_interval": hc.get("StartInterval") or 0, "retries": hc.get("Retries") or 0,
        "on_failure": host_config.get("HealthOnFailure") or "none",
    }
