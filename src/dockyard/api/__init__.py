"""The Docker Engine API server (aiohttp on a unix socket), a face of the engine.

``make_app(ApiContext(roots))`` builds the application; ``serve`` runs it on
listeners from ``parse_host``. aiohttp is imported by these modules only, so importing
this package is cheap; the CLI imports it only for ``dockyard serve``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.api.app import make_app
    from dockyard.api.context import ApiContext
    from dockyard.api.server import Listener, TlsOptions, parse_host, serve

__all__ = ["ApiContext", "Listener", "TlsOptions", "make_app", "parse_host", "serve"]

_HOMES = {"make_app": "app", "ApiContext": "context", "Listener": "server",
          "TlsOptions": "server", "parse_host": "server", "serve": "server"}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"dockyard.api.{_HOMES[name]}"), name)
    raise AttributeError(name)
