"""The ``dockyard`` command (click + rich), a face of the engine library."""
