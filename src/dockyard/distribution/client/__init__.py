"""Registry client: protocol logic without I/O (``protocol``), an aiohttp driver,
pull into and push from the image store."""

from dockyard.distribution.client.describe import describe
from dockyard.distribution.client.login import check_login
from dockyard.distribution.client.protocol import (
    ACCEPT,
    Auth,
    Challenge,
    endpoint,
    parse_challenge,
)
from dockyard.distribution.client.pull import pull
from dockyard.distribution.client.push import push
from dockyard.distribution.client.tags import list_tags

__all__ = ["ACCEPT", "Auth", "Challenge", "check_login", "describe", "endpoint", "list_tags",
           "parse_challenge", "pull", "push"]
