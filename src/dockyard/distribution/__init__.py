"""OCI distribution: registry client (pull/push/login) and server."""
