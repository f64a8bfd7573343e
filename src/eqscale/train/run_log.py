"""A run's own log, ``train.log`` in its directory: the story of the run in words."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

RUN_LOG = "train.log"


class _LogFile(logging.FileHandler):
    """The run's log file; a line that cannot be written (a full disk) is dropped quietly: the
    run's own error reports the disk, a logging traceback would only bury it."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


@contextlib.contextmanager
def run_log(out: Path, is_main: bool) -> Iterator[None]:
    """Append the ``eqscale`` logger's messages (progress, validations, the traceback of an
    error) to ``out/train.log`` while the block runs, in whatever process trains the run: a
    sweep's pool, Ray or SLURM workers keep their story in the run directory too."""
    if not is_main or (out / "result.json").is_file():  # a finished run is only read
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    handler = _LogFile(out / RUN_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("eqscale")
    warnings_logger = logging.getLogger("py.warnings")  # Python warnings (torch's included)
    logger.addHandler(handler)
    warnings_logger.addHandler(handler)
    level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        yield
    except Exception:
        log.exception("the run stopped with an error", extra={"console": False})
        raise
    finally:
        logging.captureWarnings(False)
        logger.setLevel(level)
        logger.removeHandler(handler)
        warnings_logger.removeHandler(handler)
        with contextlib.suppress(OSError):  # flushing onto a full disk: the run's error says so
            handler.close()
