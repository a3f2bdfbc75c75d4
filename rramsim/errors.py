"""The error types of rramsim: one base class, one subclass per kind of bad input.

The command line turns exactly these into a one-line message and exit code 2; any other
exception is a bug in rramsim and keeps its traceback. All derive from ``ValueError`` so that
code written against the earlier ``ValueError``-based errors keeps working.
"""


class RramsimError(ValueError):
    """A bad input to rramsim; the message names the input and what would be valid."""


class InputError(RramsimError):
    """An argument of a library function is invalid (wrong type, out of range, unknown name)."""


class ConfigError(RramsimError):
    """A configuration value, key, or preset is invalid; the message names it and what is valid."""


class DataError(RramsimError):
    """A data set is missing, truncated, corrupt or fails its checksum; the message says which
    file and how to fix it."""


class MappingError(RramsimError):
    """A network cannot be mapped onto arrays as asked (unsupported layer, input outside the
    input code, an inconsistent array configuration)."""


class ModelFileError(RramsimError):
    """A saved network file is missing, truncated, corrupt or not an rramsim model; or a network
    cannot be saved (it was not built by a registered builder)."""


class ModelFileMissing(ModelFileError, FileNotFoundError):
    """No saved network at the given path (also a ``FileNotFoundError``)."""


class RramsimWarning(UserWarning):
    """A legal setting whose result may surprise (a clipped update, device parameters that no
    longer mean what their names say); the command line prints it as one line."""
