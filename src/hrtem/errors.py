"""Exceptions that the command line reports as one clear line (no traceback)."""


class HrtemError(Exception):
    """An error caused by the user's input (config, file, argument).

    The message must say what is wrong, where (key path or file) and how to
    fix it. The CLI prints it as ``error: <message>`` and exits with status 2.
    """


class ConfigError(HrtemError):
    """The configuration does not satisfy the schema."""


class StoreError(HrtemError):
    """A Zarr store is missing, truncated, or not written by hrtem."""
