"""Settings read from the environment (SageMaker's ``SAGEMAKER_*`` variables).

``base_dir``, ``model_dir`` and ``code_dir`` are computed once at import, like 1.10.1.
``Environment`` reads and validates every variable when it is constructed, so a typo such as
``SAGEMAKER_STARTUP_TIMEOUT=ten`` fails at start with the variable's name in the message.
"""

import ipaddress
import os
from typing import Mapping, Optional

from sagemaker_inference import parameters

DEFAULT_BASE_DIR = "/opt/ml"
DEFAULT_MODULE_NAME = "inference.py"
DEFAULT_MODEL_SERVER_TIMEOUT = 60
DEFAULT_STARTUP_TIMEOUT = 600
DEFAULT_ACCEPT = "application/json"
DEFAULT_HTTP_PORT = "8080"
DEFAULT_VMARGS = "-XX:-UseContainerSupport"
DEFAULT_LOG_LEVEL = "INFO"
DEFAULT_MAX_LOAD_FAILURES = 3
DEFAULT_BIND_ADDRESS = "0.0.0.0"
# MMS 1.1 refuses worker answers with a body above this many bytes unless max_response_size says
# otherwise; MMS reads the setting as a Java int.
DEFAULT_MAX_RESPONSE_SIZE = 6553500
MAX_MEGABYTES = 2047
DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS = 60
# MMS's own default wait for a batch to fill, in milliseconds.
DEFAULT_MAX_BATCH_DELAY_MS = 100

TRUE_VALUES = frozenset(("true", "1", "yes", "on"))
FALSE_VALUES = frozenset(("false", "0", "no", "off", ""))


def parse_bool(name: str, raw: Optional[str], default: bool = False, strict: bool = True) -> bool:
    """The one rule for every boolean variable: ``true``/``1``/``yes``/``on`` (any case) is
    True, ``false``/``0``/``no``/``off`` or empty is False, unset is ``default``.

    Any other value raises ``ValueError`` naming the variable, or gives ``default`` when
    ``strict`` is False (used for readings at import time; ``Environment()`` at start is strict,
    so a bad value still stops the server with a clear message).
    """
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    if not strict:
        return default
    raise ValueError("{}={!r} is not a boolean; use true or false".format(name, raw))


def flag(name: str, environ: Optional[Mapping[str, str]] = None, default: bool = False) -> bool:
    """Boolean variable ``name`` of ``environ`` (default ``os.environ``), read leniently.

    For readings outside ``Environment`` (per request, or at import): an invalid value gives
    ``default`` here and fails ``Environment()`` at start.
    """
    env = os.environ if environ is None else environ
    return parse_bool(name, env.get(name), default, strict=False)


def _flag(environ: Mapping[str, str], name: str, default: bool = False) -> bool:
    return parse_bool(name, environ.get(name), default)


def _integer(
    environ: Mapping[str, str], name: str, default: Optional[int], minimum: int = 0
) -> Optional[int]:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError("{}={!r} is not an integer".format(name, raw)) from None
    if value < minimum:
        raise ValueError("{}={!r} must be at least {}".format(name, raw, minimum))
    return value


def _megabytes(environ: Mapping[str, str], name: str) -> Optional[int]:
    """A positive number of megabytes (MiB) as bytes, None when unset; at most 2047 MiB."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = -1.0
    if not 0 < megabytes <= MAX_MEGABYTES:
        raise ValueError(
            "{}={!r} is not a number of megabytes above 0 and at most {}".format(
                name, raw, MAX_MEGABYTES
            )
        )
    return int(megabytes * 1024 * 1024)


def _port(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    port = raw.strip()
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("{}={!r} is not a TCP port number".format(name, raw))
    return port


def _address(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return str(ipaddress.ip_address(raw.strip().strip("[]")))
    except ValueError:
        raise ValueError(
            "{}={!r} is not an IP address (for example 0.0.0.0 or 127.0.0.1)".format(name, raw)
        ) from None


base_dir = os.environ.get(parameters.BASE_PATH_ENV, DEFAULT_BASE_DIR)
# The one reading of SAGEMAKER_MULTI_MODEL at import: model_server.ENABLE_MULTI_MODEL is this value.
multi_model = flag(parameters.MULTI_MODEL_ENV)
model_dir = os.path.join(base_dir, "models" if multi_model else "model")
code_dir = os.path.join(model_dir, "code")


class Environment(object):
    """Snapshot of the ``SAGEMAKER_*`` variables, validated at construction.

    Timeouts are seconds. ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` is the response timeout in seconds
    (default 60) and ``SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS``, when set, overrides it; the
    effective value is ``response_timeout_seconds``, which the model server writes to MMS's
    ``default_response_timeout_seconds`` (MMS 1.1 reads ``default_response_timeout`` as minutes,
    which is why 1.10.1's 60 meant an hour).
    """

    def __init__(self, environ: Optional[Mapping[str, str]] = None):
        env = os.environ if environ is None else environ
        self._base_dir = env.get(parameters.BASE_PATH_ENV, DEFAULT_BASE_DIR)
        flags = {name: _flag(env, name) for name in parameters.BOOLEAN_VARIABLES}
        self._multi_model = flags[parameters.MULTI_MODEL_ENV]
        self._module_name = env.get(parameters.USER_PROGRAM_ENV) or DEFAULT_MODULE_NAME
        self._model_server_timeout = _integer(
            env, parameters.MODEL_SERVER_TIMEOUT_ENV, DEFAULT_MODEL_SERVER_TIMEOUT, minimum=1
        )
        self._model_server_timeout_seconds = _integer(
            env, parameters.MODEL_SERVER_TIMEOUT_SECONDS_ENV, None, minimum=1
        )
        workers = _integer(env, parameters.MODEL_SERVER_WORKERS_ENV, None, minimum=1)
        self._model_server_workers = None if workers is None else str(workers)
        self._startup_timeout = _integer(
            env, parameters.STARTUP_TIMEOUT_ENV, DEFAULT_STARTUP_TIMEOUT, minimum=1
        )
        self._default_accept = (
            env.get(parameters.DEFAULT_INVOCATIONS_ACCEPT_ENV) or DEFAULT_ACCEPT
        ).strip()
        self._inference_http_port = _port(env, parameters.BIND_TO_PORT_ENV, DEFAULT_HTTP_PORT)
        self._management_http_port = self._inference_http_port
        self._bind_address = _address(env, parameters.BIND_ADDRESS_ENV, DEFAULT_BIND_ADDRESS)
        self._safe_port_range = env.get(parameters.SAFE_PORT_RANGE_ENV) or None
        self._vmargs = env.get(parameters.MODEL_SERVER_VMARGS, DEFAULT_VMARGS)
        max_payload_mb = env.get(parameters.MAX_REQUEST_SIZE)
        self._max_request_size = None
        if max_payload_mb is not None and max_payload_mb.strip():
            try:
                megabytes = float(max_payload_mb)
            except ValueError:
                megabytes = -1.0
            if not megabytes > 0:
                raise ValueError(
                    "{}={!r} is not a positive number of megabytes".format(
                        parameters.MAX_REQUEST_SIZE, max_payload_mb
                    )
                )
            self._max_request_size = int(megabytes * 1024 * 1024)
        self._max_response_size = _megabytes(env, parameters.MAX_RESPONSE_SIZE_ENV)
        if self._max_response_size is None:
            self._max_response_size = max(self._max_request_size or 0, DEFAULT_MAX_RESPONSE_SIZE)
        self._keep_alive_timeout_seconds = _integer(
            env, parameters.KEEP_ALIVE_TIMEOUT_ENV, DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS, minimum=0
        )
        self._max_requests_per_worker = _integer(
            env, parameters.MAX_REQUESTS_PER_WORKER_ENV, None, minimum=0
        )
        self._max_worker_rss = _megabytes(env, parameters.MAX_WORKER_RSS_ENV)
        self._batch_size = _integer(env, parameters.BATCH_SIZE_ENV, 1, minimum=1)
        self._max_batch_delay_ms = _integer(
            env, parameters.MAX_BATCH_DELAY_ENV, DEFAULT_MAX_BATCH_DELAY_MS, minimum=0
        )
        self._log_level = env.get(parameters.LOG_LEVEL_ENV) or DEFAULT_LOG_LEVEL
        self._return_traceback = flags[parameters.RETURN_TRACEBACK_ENV]
        self._input_fn_errors_as_500 = flags[parameters.INPUT_FN_ERRORS_AS_500_ENV]
        self._handler = env.get(parameters.HANDLER_ENV) or None
        self._load_failure_file = env.get(parameters.LOAD_FAILURE_FILE_ENV) or None
        self._max_load_failures = _integer(
            env, parameters.MAX_LOAD_FAILURES_ENV, DEFAULT_MAX_LOAD_FAILURES, minimum=1
        )

    @property
    def base_dir(self) -> str:
        return self._base_dir

    @property
    def multi_model(self) -> bool:
        return self._multi_model

    @property
    def model_dir(self) -> str:
        return os.path.join(self._base_dir, "models" if self._multi_model else "model")

    @property
    def code_dir(self) -> str:
        return os.path.join(self.model_dir, "code")

    @property
    def module_name(self) -> str:
        """``SAGEMAKER_PROGRAM`` without a trailing ``.py`` (default ``inference``)."""
        name = self._module_name.strip()
        return name[:-3] if name.endswith(".py") else name

    @property
    def model_server_timeout(self) -> int:
        """``SAGEMAKER_MODEL_SERVER_TIMEOUT`` in seconds (default 60)."""
        return self._model_server_timeout

    @property
    def model_server_timeout_seconds(self) -> Optional[int]:
        """``SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS``, or None when unset."""
        return self._model_server_timeout_seconds

    @property
    def response_timeout_seconds(self) -> int:
        """Seconds MMS waits for a prediction: the ``_SECONDS`` variable, else the plain one."""
        if self._model_server_timeout_seconds is not None:
            return self._model_server_timeout_seconds
        return self._model_server_timeout

    @property
    def model_server_workers(self) -> Optional[str]:
        """Workers per model as a string (1.10.1's type), or None for MMS's default (one per
        CPU). The value is checked to be a positive integer when the Environment is built."""
        return self._model_server_workers

    @property
    def startup_timeout(self) -> int:
        return self._startup_timeout

    @property
    def default_accept(self) -> str:
        return self._default_accept

    @property
    def inference_http_port(self) -> str:
        return self._inference_http_port

    @property
    def management_http_port(self) -> str:
        return self._management_http_port

    @property
    def bind_address(self) -> str:
        """The address MMS listens on: SAGEMAKER_BIND_ADDRESS, default every interface."""
        return self._bind_address

    @property
    def safe_port_range(self) -> Optional[str]:
        return self._safe_port_range

    @property
    def vmargs(self) -> str:
        return self._vmargs

    @property
    def max_request_size(self) -> Optional[int]:
        """``SAGEMAKER_MAX_PAYLOAD_IN_MB`` converted to bytes, or None when unset."""
        return self._max_request_size

    @property
    def max_response_size(self) -> int:
        """Largest response body in bytes a worker may send (MMS's ``max_response_size``).

        ``SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB`` when set; otherwise the larger of
        ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` and MMS's default of 6553500 bytes.
        """
        return self._max_response_size

    @property
    def keep_alive_timeout_seconds(self) -> int:
        """Seconds an HTTP connection may stay open with no request in flight (0: no limit).

        The Java front end reads the variable itself (the library's patched MMS pipeline); it
        is validated here so that a bad value fails at start.
        """
        return self._keep_alive_timeout_seconds

    @property
    def max_requests_per_worker(self) -> Optional[int]:
        """Requests after which a worker is replaced (None or 0: never)."""
        return self._max_requests_per_worker

    @property
    def max_worker_rss(self) -> Optional[int]:
        """Resident memory in bytes above which a worker is replaced (None: no bound)."""
        return self._max_worker_rss

    @property
    def batch_size(self) -> int:
        """Requests MMS may hand a worker in one batch (1: no batching).

        Applied by the Java front end (which reads the variable itself) to the model loaded at
        start and to every ``POST /models`` that names no ``batch_size``; validated here so that
        a bad value fails at start.
        """
        return self._batch_size

    @property
    def max_batch_delay_ms(self) -> int:
        """Milliseconds MMS waits for a batch to fill before handing over what it has."""
        return self._max_batch_delay_ms

    @property
    def log_level(self) -> str:
        return self._log_level

    @property
    def return_traceback(self) -> bool:
        """``SAGEMAKER_RETURN_TRACEBACK=true`` appends the traceback to error response bodies."""
        return self._return_traceback

    @property
    def input_fn_errors_as_500(self) -> bool:
        """``SAGEMAKER_INPUT_FN_ERRORS_AS_500=true``: errors raised in ``input_fn`` answer 500, as
        in 1.10.1, instead of 400."""
        return self._input_fn_errors_as_500

    @property
    def handler(self) -> Optional[str]:
        return self._handler

    @property
    def load_failure_file(self) -> Optional[str]:
        return self._load_failure_file

    @property
    def max_load_failures(self) -> int:
        return self._max_load_failures
