"""``python -m rramsim.cli``: the ``rramsim`` command."""

import sys

from rramsim.cli import main

sys.exit(main())
