"""``dockyard-runtime``: runc's command line over the ``dockyard.runtime`` library."""

__all__: list[str] = []
