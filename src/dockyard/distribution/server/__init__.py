"""An OCI distribution spec 1.1 registry over a filesystem store of its own."""

from dockyard.distribution.server.app import MAX_PAGE, make_app
from dockyard.distribution.server.errors import CODES, RegistryError
from dockyard.distribution.server.gc import GcReport, collect
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
