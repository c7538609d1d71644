"""Dockyard: a Docker-compatible container engine.

Deliberately empty: importing ``dockyard.runtime`` must not drag in anything else,
because the runtime is on the hot path of every container start.
"""

__version__ = "0.1.0"
