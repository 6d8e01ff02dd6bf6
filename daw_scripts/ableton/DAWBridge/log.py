"""The script's log file: ``logs/ableton.log`` in the DAWBridge folder (``~/.dawbridge``), for
everything the status bar is too short for. Errors also go to Live's own Log.txt."""

import logging
import os

from .config import home_dir

LOGGER_NAME = __name__.rsplit(".", 1)[0]  # the package: "DAWBridge"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path():
    return os.path.join(home_dir(), "logs", "ableton.log")


def start(live_log=None):
    """Attach a file handler (and, for errors, ``live_log(text)``) to the package's logger."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(logging.INFO)
    handlers = []  # type: list[logging.Handler]
    try:
        os.makedirs(os.path.dirname(log_path()), exist_ok=True)
        handlers.append(logging.FileHandler(log_path(), encoding="utf-8"))
    except OSError:
        pass  # no log file; Live's Log.txt still gets the errors
    if live_log is not None:
        handlers.append(_LiveLogHandler(live_log))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
    return handlers


def stop(handlers):
    logger = logging.getLogger(LOGGER_NAME)
    for handler in handlers:
        logger.removeHandler(handler)
        handler.close()


class _LiveLogHandler(logging.Handler):
    """Warnings and errors into Live's Log.txt through ``ControlSurface.log_message``."""

    def __init__(self, live_log):
        logging.Handler.__init__(self, logging.WARNING)
        self._live_log = live_log

    def emit(self, record):
        try:
            self._live_log(self.format(record))
        except Exception:  # logging must never break the script
            pass
