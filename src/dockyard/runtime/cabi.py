"""Calling C from the runtime through ``_ctypes`` alone, without the ``ctypes`` package.

``import ctypes`` costs ~3 ms here (it builds dozens of types and imports ``struct``
and ``types``), a tenth of a whole ``runc run``. The runtime needs a handful of libc
functions with integer, pointer and small-structure arguments; the few types below
are defined the way ``ctypes`` defines them, on the same C base classes, so they
behave identically (a function's result is a Python int, ``errno`` is captured).
"""

from __future__ import annotations

import _ctypes as _ctypes_module
import os

TYPE_CHECKING = False  # typing itself costs milliseconds per start

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "U32",
    "U64",
    "CharP",
    "Int",
    "Long",
    "Structure",
    "UInt",
    "ULong",
    "UShort",
    "VoidP",
    "byref",
    "check",
    "errno",
    "function",
    "libc",
    "sizeof",
]

_ctypes: Any = _ctypes_module  # its stubs describe ctypes' public types, not these uses
Structure: Any = _ctypes.Structure
byref: Any = _ctypes.byref
sizeof: Any = _ctypes.sizeof
addressof: Any = _ctypes.addressof


class Int(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "i"


class UInt(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "I"


class Long(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "l"


class ULong(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "L"


class UShort(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "H"


class U32(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "I"


class U64(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "Q"


class CharP(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "z"


class VoidP(_ctypes._SimpleCData):  # type: ignore[misc]
    _type_ = "P"


class _Lib:
    """What ``_ctypes.CFuncPtr((name, lib))`` needs of a library: its handle."""

    def __init__(self, name: str | None) -> None:
        self._handle = _ctypes.dlopen(name, os.RTLD_NOW)


_LIBS: dict[str | None, _Lib] = {}
_FUNC_TYPES: dict[Any, Any] = {}


def function(name: str, restype: Any = Int, argtypes: tuple[Any, ...] | None = None,
             library: str | None = None) -> Any:
    """The C function ``name`` of ``library`` (None: the C library this process runs
    on), called with ``errno`` saved for ``errno()``."""
    lib = _LIBS.get(library)
    if lib is None:
        lib = _LIBS[library] = _Lib(library)
    cls = _FUNC_TYPES.get(restype)
    if cls is None:
        cls = _FUNC_TYPES[restype] = type(
            "CFunction", (_ctypes.CFuncPtr,),
            {"_flags_": _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO,
             "_restype_": restype})
    func = cls((name, lib))
    if argtypes is not None:
        func.argtypes = argtypes
    return func


def libc(name: str, restype: Any = Int, argtypes: tuple[Any, ...] | None = None) -> Any:
    """``function(name, ...)`` of the C library."""
    return function(name, restype, argtypes)


def array_type(ctype: Any, length: int) -> Any:
    """The type of a C array of ``length`` items of ``ctype``."""
    return ctype * length


def array(ctype: Any, length: int, *items: Any) -> Any:
    """A C array of ``length`` items of ``ctype`` (``items`` first, then zeroes)."""
    return (ctype * length)(*items)


def errno() -> int:
    """The ``errno`` the last C call left."""
    return int(_ctypes.get_errno())


def check(ret: int, what: str) -> int:
    """``ret``, or ``OSError`` (errno, its text, ``what``) when it is negative."""
    if ret < 0:
        err = errno()
        raise OSError(err, os.strerror(err), what)
    return ret
