"""The settings the command itself needs, read through :mod:`sagemaker_inference.environment`
(the one reader of the environment): the default port of ``invoke``, the address and program of
``serve``, and whether the user chose where the server keeps its state.

(The variables ``serve`` sets for the server are written in :mod:`.serve`.)
"""

import os
from typing import Any, Mapping, Optional

from sagemaker_inference import environment, parameters

DEFAULT_PORT = int(environment.DEFAULT_HTTP_PORT)
PORT = parameters.BIND_TO_PORT_ENV
BIND_ADDRESS = parameters.BIND_ADDRESS_ENV
PROGRAM = parameters.USER_PROGRAM_ENV


def current() -> Mapping[str, str]:
    """The process environment, for the functions that take the environment as an argument."""
    return os.environ


def _lenient(attribute: str, environ: Optional[Mapping[str, str]]) -> Any:
    # A bad value must not stop ``invoke`` or the checks before serving; the server refuses it.
    return environment.read_setting(attribute, environ, strict=False)


def default_port(environ: Optional[Mapping[str, str]] = None) -> int:
    """``$SAGEMAKER_BIND_TO_PORT`` when it is a port number, else 8080."""
    return int(_lenient("_inference_http_port", environ))


def bind_address(environ: Mapping[str, str]) -> Optional[str]:
    """``$SAGEMAKER_BIND_ADDRESS``, None when unset; ValueError (the setting's own message)
    when it is not an IP address."""
    return environment.read_setting("bind_address", environ, default=None)


def program(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """``$SAGEMAKER_PROGRAM``; None when unset or empty."""
    return environment.read_setting("_module_name", environ, default=None) or None


def state_is_chosen(environ: Mapping[str, str]) -> Mapping[str, bool]:
    """Whether the user set the state directory and the MMS config file, by variable name."""
    return {
        parameters.STATE_DIR_ENV: bool(_lenient("state_dir_override", environ)),
        parameters.CONFIG_FILE_ENV: bool(_lenient("config_file", environ)),
    }
