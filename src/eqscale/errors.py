"""User-facing errors: the command line prints them as one line and exits with code 2."""


class EqscaleError(Exception):
    """Bad input from the user (missing or corrupt data, unknown names, impossible budgets)."""


class DatasetError(EqscaleError):
    """A dataset on disk is missing, corrupt or not in the format of SPEC section 2."""


class CheckpointError(EqscaleError):
    """A run's checkpoint is missing or corrupt."""


class FitError(EqscaleError):
    """A scaling fit got degenerate input (too few points, no spread, non-positive values)."""
