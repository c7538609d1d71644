"""OCI distribution: registry client (pull/push/login) and server."""

__all__: list[str] = []
