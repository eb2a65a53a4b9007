"""The environment variables the command itself reads: the only place in ``cli`` that reads them.

(The variables ``serve`` sets for the server are written in :mod:`.serve`; the server reads
them through :mod:`sagemaker_inference.environment`.)
"""

import os
from typing import Mapping, Optional

DEFAULT_PORT = 8080

PORT = "SAGEMAKER_BIND_TO_PORT"
BIND_ADDRESS = "SAGEMAKER_BIND_ADDRESS"
PROGRAM = "SAGEMAKER_PROGRAM"


def current() -> Mapping[str, str]:
    """The process environment, for the functions that take the environment as an argument."""
    return os.environ


def default_port(environ: Optional[Mapping[str, str]] = None) -> int:
    """``$SAGEMAKER_BIND_TO_PORT`` when it is a number, else 8080."""
    raw = (os.environ if environ is None else environ).get(PORT, "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_PORT


def bind_address(environ: Mapping[str, str]) -> str:
    """``$SAGEMAKER_BIND_ADDRESS`` stripped; empty when unset."""
    return environ.get(BIND_ADDRESS, "").strip()


def program(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """``$SAGEMAKER_PROGRAM``; None when unset or empty."""
    return (os.environ if environ is None else environ).get(PROGRAM) or None
