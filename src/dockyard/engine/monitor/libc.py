"""The C library calls the monitor makes (``prctl``, ``malloc_trim``), through the
runtime's ``cabi`` (``_ctypes`` alone).

The spawner loads this before it forks monitors, so every monitor carries it. The
``ctypes`` package it replaces (its types, ``struct``, ``_struct``) added ~0.3 MiB to
each idle monitor's RSS, whose goal is 8 MiB.
"""

from dockyard.runtime import cabi


class Libc:
    """``prctl`` and ``malloc_trim`` of the C library; each returns the C int."""

    def __init__(self) -> None:
        self.prctl = cabi.libc("prctl")
        self.malloc_trim = cabi.libc("malloc_trim")
