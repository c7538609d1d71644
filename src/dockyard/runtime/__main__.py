"""``python -m dockyard.runtime``: the same as the ``dockyard-runtime`` command."""

from dockyard.runtime.cli.main import exit_now, main

exit_now(main())
