"""Docker's words for time: RFC 3339 stamps in, "About a minute" / "3 hours" out.

Shared by the engine (the ``Status`` of a container summary, as the API returns it) and
the CLI (``ps``, ``images``), so both print exactly what the docker client prints.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["human_duration", "parse_time"]


def parse_time(text: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (nanoseconds allowed); None if zero."""
    if not text or text.startswith("0001-01-01"):
        return None
    main, _, frac_zone = text.partition(".")
    zone = ""
    frac = "0"
    if frac_zone:
        digits = ""
        for i, c in enumerate(frac_zone):
            if not c.isdigit():
                zone = frac_zone[i:]
                break
            digits += c
        frac = digits or "0"
    else:
        for sep in ("Z", "+", "-"):
            idx = main.find(sep, 10)
            if idx > 0:
                main, zone = main[:idx], main[idx:]
                break
    zone = "+00:00" if zone in ("Z", "") else zone
    stamp = datetime.fromisoformat(main + zone).timestamp()
    return stamp + float("0." + frac)


def human_duration(seconds: float) -> str:
    """Docker's HumanDuration: how long ago or how long up, in rounded words."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"
