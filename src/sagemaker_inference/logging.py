"""The library's logger, named ``sagemaker-inference``."""

import logging
import sys
from typing import Optional, Union

from sagemaker_inference import parameters
from sagemaker_inference.environment import Environment, or_current

LOGGER_NAME = "sagemaker-inference"
LOG_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"

_LEVEL_ALIASES = {"WARN": logging.WARNING, "FATAL": logging.CRITICAL}

_LOG4J_LEVELS = {
    "CRITICAL": "fatal",
    "FATAL": "fatal",
    "ERROR": "error",
    "WARNING": "warn",
    "WARN": "warn",
    "INFO": "info",
    "DEBUG": "debug",
    "NOTSET": "all",
    "TRACE": "trace",
}


def parse_level(value: Union[str, int, None], default: int = logging.INFO) -> int:
    """A logging level from a name (``debug``, ``WARNING``) or a number (``10``, ``"20"``)."""
    if value is None:
        return default
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text:
        return default
    if text.lstrip("-").isdigit():
        return int(text)
    name = text.upper()
    if name in _LEVEL_ALIASES:
        return _LEVEL_ALIASES[name]
    level = logging.getLevelName(name)
    if isinstance(level, int):
        return level
    raise ValueError("unknown log level {!r}".format(value))


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def configure_logger(
    level: Union[str, int, None] = None, env: Optional[Environment] = None
) -> logging.Logger:
    """Give the library's logger a level and one stderr handler; safe to call repeatedly.

    Without ``level`` the level comes from ``SAGEMAKER_CONTAINER_LOG_LEVEL`` (of ``env``, default
    a reading of the environment; default INFO); an unrecognised value falls back to INFO with a
    warning rather than stopping the server.
    """
    logger = get_logger()
    bad_value: Optional[str] = None
    if level is None:
        raw = or_current(env).log_level
        try:
            resolved = parse_level(raw)
        except ValueError:
            resolved, bad_value = logging.INFO, raw
    else:
        resolved = parse_level(level)
    logger.setLevel(resolved)
    if not any(getattr(h, "_sagemaker_inference", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler._sagemaker_inference = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False
    if bad_value is not None:
        logger.warning(
            "Ignoring %s=%r: not a log level name or number; using INFO",
            parameters.LOG_LEVEL_ENV,
            bad_value,
        )
    return logger


def log4j_level(value: Optional[str]) -> str:
    """Map SAGEMAKER_CONTAINER_LOG_LEVEL (a Python level name or number) to a log4j2 level."""
    if value is None or not str(value).strip():
        return "info"
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        number = int(text)
        if number <= 0:
            return "all"
        text = logging.getLevelName((min(number, 50) // 10) * 10 or 10)
    return _LOG4J_LEVELS.get(text.upper(), "info")


def metrics_wanted(log_level: Optional[str]) -> bool:
    """Whether MMS's per-request metric lines are logged: only at DEBUG or a more verbose level."""
    return log4j_level(log_level) in ("debug", "trace", "all")
