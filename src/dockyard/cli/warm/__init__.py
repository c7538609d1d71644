"""The warm engine and the thin client that makes ``dockyard`` start fast.

``client.main`` is the ``dockyard`` entry point; ``server`` is the per-run-root process
that has the CLI imported and forks a worker (``worker``) per command; ``wire`` is what
they say to each other. Nothing here is imported by the cold path.
"""

__all__: list[str] = []
