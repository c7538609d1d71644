"""Where the conformance data written by other projects lives (never copied here)."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFORMANCE = Path(__file__).resolve().parents[3].parent / "shared" / "conformance"


def conformance_path(*parts: str) -> Path:
    """Path into ``<repo>/../shared/conformance``; the test is skipped if it is absent."""
    path = CONFORMANCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"conformance data not found at {path}")
    return path
