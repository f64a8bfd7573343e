"""User-facing errors: the command line prints them as one line and exits with their code.

``exit_code`` is 2 for bad input and environment problems (the user has to change something),
1 for a run that ran and failed (e.g. a non-finite loss): scripts can tell the two apart.
"""


class EqscaleError(Exception):
    """Bad user input (missing or corrupt data, unknown names, impossible budgets)."""

    exit_code = 2


class DatasetError(EqscaleError):
    """A dataset on disk is missing, corrupt or not in the format of docs/data.md."""


class CheckpointError(EqscaleError):
    """A run's checkpoint is missing or corrupt."""


class FitError(EqscaleError):
    """A scaling fit got degenerate input (too few points, no spread, non-positive values)."""


class LockedError(EqscaleError):
    """A directory is in use by another eqscale process (see :mod:`eqscale.locks`)."""


class StorageError(EqscaleError):
    """The operating system refused a file operation at the edge: a full disk, a read-only or
    missing folder, a file-size limit, too many open files (see :mod:`eqscale.oserrors`)."""


class RunFailedError(EqscaleError):
    """A training run ended as ``failed`` (its ``result.json`` says why); exit code 1."""

    exit_code = 1
