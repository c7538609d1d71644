"""The C library calls the monitor makes (``prctl``, ``malloc_trim``), through
``_ctypes`` alone.

The spawner loads this before it forks monitors, so every monitor carries it. The
``ctypes`` package it replaces (its types, ``struct``, ``_struct``) added ~0.4 MiB to
each idle monitor's RSS, whose goal is 8 MiB. The runtime's ``cabi`` does the same for
the runtime; the monitor may not import it (only C modules and its own).
"""

import _ctypes as _ctypes_module
import os

TYPE_CHECKING = False  # the monitor imports no typing

if TYPE_CHECKING:
    from typing import Any

_ctypes: "Any" = _ctypes_module  # its stubs describe ctypes' public types, not these uses


class _Int(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "i"


class _CFunction(_ctypes.CFuncPtr):  # type: ignore[misc]
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Int


class _Library:
    """What ``CFuncPtr((name, library))`` needs: the library's handle."""

    def __init__(self) -> None:
        self._handle = _ctypes.dlopen(None, os.RTLD_NOW)  # the C library we run on


class Libc:
    """``prctl`` and ``malloc_trim`` of the C library; each returns the C int."""

    def __init__(self) -> None:
        library = _Library()
        self.prctl = _CFunction(("prctl", library))
        self.malloc_trim = _CFunction(("malloc_trim", library))
