"""An OCI distribution spec 1.1 registry over a filesystem store of its own."""

from dockyard.distribution.server.app import make_app
from dockyard.distribution.server.errors import CODES, RegistryError
from dockyard.distribution.server.gc import GcReport, collect
from dockyard.distribution.server.routes import MAX_PAGE
from dockyard.distribution.server.serve import parse_addr, serve, start, tls_context
from dockyard.distribution.server.storage import RegistryStorage
from dockyard.distribution.server.tokens import TokenAuth

__all__ = [
           "CODES",
           "MAX_PAGE",
           "GcReport",
           "RegistryError",
           "RegistryStorage",
           "TokenAuth",
           "collect",
           "make_app",
           "parse_addr",
           "serve",
           "start",
           "tls_context",
]
