"""The version of rramsim, in this one place (pyproject.toml and the command line read it)."""

__version__ = "0.1.0"
