"""OCI distribution: registry client (pull/push/login), credentials in docker's
config.json, and a registry server (``server``, imported on its own)."""

from dockyard.distribution.auth import (
    config_path,
    erase_credentials,
    get_credentials,
    store_credentials,
)
from dockyard.distribution.client import Auth, check_login, describe, list_tags, pull, push

__all__ = ["Auth", "check_login", "config_path", "describe", "erase_credentials", "get_credentials",
           "list_tags", "pull", "push", "store_credentials"]
