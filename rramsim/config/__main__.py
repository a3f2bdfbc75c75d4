"""``python -m rramsim.config``: print the configuration reference (``docs/configuration.md``).

    python -m rramsim.config > docs/configuration.md
"""

import sys

from rramsim.config.reference import markdown


def main() -> int:
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
