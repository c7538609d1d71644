"""``python -m dockyard.runtime``: the same as the ``dockyard-runtime`` command."""

import sys

from dockyard.runtime.cli.main import main

sys.exit(main())
