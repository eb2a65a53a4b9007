"""Settings read from the environment: the one place that reads the variables the library honours.

Each setting is one line of the :class:`Environment` class body: the variable, its kind, its
default and what it means. A kind is one parser (bool, int, seconds, size in MB, path, port,
address, text); a bad value raises ``ValueError("SAGEMAKER_X='ten': expected ...")`` when the
``Environment`` is built, so a typo stops the server at start with the variable's name. A new
setting is one ``Setting`` line in the table (the variable may be spelt out there; ``parameters``
holds the names other code imports), its use (``env.<attribute>``) and its test.

``base_dir``, ``model_dir``, ``code_dir`` and ``multi_model`` are computed once at import, like
1.10.1's module constants, from :data:`at_import`: an ``Environment`` read leniently (a bad
value gives the default there, and fails the strict ``Environment()`` built at start).
"""

import ipaddress
import math
import os
from typing import Any, Callable, List, Mapping, NamedTuple, Optional

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
DEFAULT_SHUTDOWN_GRACE_SECONDS = 20.0
DEFAULT_MAX_DECODED_BYTES = 512 * 1024 * 1024

TRUE_VALUES = frozenset(("true", "1", "yes", "on"))
FALSE_VALUES = frozenset(("false", "0", "no", "off", ""))


class Kind(NamedTuple):
    """One parser: ``parse`` turns a stripped, non-empty value into the setting's value and
    raises ValueError for a bad one; ``expected`` completes "expected ..." in the message."""

    expected: str
    parse: Callable[[str], Any]


def bad_value(variable: str, raw: str, expected: str) -> ValueError:
    """The one error for a bad setting: ``NAME='raw': expected <what>``."""
    return ValueError("{}={!r}: expected {}".format(variable, raw, expected))


def _boolean(text: str) -> bool:
    value = text.lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise ValueError(text)


def integer(minimum: int) -> Kind:
    """Whole numbers of at least ``minimum``."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(text)
        return value

    return Kind("a whole number of at least {}".format(minimum), parse)


def megabytes(maximum: Optional[int] = None) -> Kind:
    """A number of megabytes (MiB) above 0 (and at most ``maximum``), as bytes."""

    def parse(text: str) -> int:
        value = float(text)
        if not 0 < value <= (maximum or math.inf):
            raise ValueError(text)
        return int(value * 1024 * 1024)

    bound = " and at most {}".format(maximum) if maximum else ""
    return Kind("a number of megabytes above 0{}".format(bound), parse)


def _seconds(text: str) -> float:
    value = float(text)
    if math.isnan(value):
        raise ValueError(text)
    return max(0.0, value)


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(text)
    return int(text)


def _address(text: str) -> str:
    return str(ipaddress.ip_address(text.strip("[]")))


BOOL = Kind("true or false (or 1/0, yes/no, on/off)", _boolean)
SECONDS = Kind("a number of seconds", _seconds)
PORT = Kind("a TCP port number (1-65535)", _port)
ADDRESS = Kind("an IP address (for example 0.0.0.0 or 127.0.0.1)", _address)
PATH = Kind("a path", str)
TEXT = Kind("text", str)


# Setting.read's ``default`` when the table's default applies.
TABLE_DEFAULT: Any = object()


class Setting(object):
    """One variable of the :class:`Environment` table; reads as its parsed value.

    ``keep_empty``: an empty value is kept as "" (it means "off"), not replaced by the default.
    ``lenient``: a bad value gives the default even in a strict reading (settings that have
    always been read that way).
    """

    def __init__(
        self,
        variable: str,
        kind: Kind,
        default: Any = None,
        doc: str = "",
        keep_empty: bool = False,
        lenient: bool = False,
    ):
        self.variable = variable
        self.kind = kind
        self.default = default
        self.doc = doc
        self.keep_empty = keep_empty
        self.lenient = lenient
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Optional[type] = None) -> Any:
        # Environment.__init__ stores each value on the instance under the setting's name, which
        # hides this (non-data) descriptor; the class attribute is the Setting itself.
        return self if instance is None else self.default

    def read(
        self, environ: Mapping[str, str], strict: bool = True, default: Any = TABLE_DEFAULT
    ) -> Any:
        """This setting's value in ``environ``; ValueError for a bad value when ``strict``.
        ``default`` replaces the table's default for this one reading."""
        fallback = self.default if default is TABLE_DEFAULT else default
        raw = environ.get(self.variable)
        if raw is None:
            return fallback
        text = raw.strip()
        if not text:
            return "" if self.keep_empty else fallback
        try:
            return self.kind.parse(text)
        except ValueError:
            if strict and not self.lenient:
                raise bad_value(self.variable, raw, self.kind.expected) from None
            return fallback


def parse_bool(name: str, raw: Optional[str], default: bool = False, strict: bool = True) -> bool:
    """The one rule for every boolean variable: ``true``/``1``/``yes``/``on`` (any case) is
    True, ``false``/``0``/``no``/``off`` or empty is False, unset is ``default``.

    Any other value raises ``ValueError`` naming the variable, or gives ``default`` when
    ``strict`` is False (used for readings at import time; ``Environment()`` at start is strict,
    so a bad value still stops the server with a clear message).
    """
    if raw is None:
        return default
    try:
        return _boolean(raw.strip())
    except ValueError:
        if not strict:
            return default
        raise bad_value(name, raw, BOOL.expected) from None


def flag(name: str, environ: Optional[Mapping[str, str]] = None, default: bool = False) -> bool:
    """Boolean variable ``name`` of ``environ`` (default ``os.environ``), read leniently.

    For readings outside ``Environment`` (per request, or at import): an invalid value gives
    ``default`` here and fails ``Environment()`` at start.
    """
    env = os.environ if environ is None else environ
    return parse_bool(name, env.get(name), default, strict=False)


def exposed(attribute: str, doc: str = "") -> property:
    """A read-only public property for the value stored under ``attribute``."""
    return property(lambda self: getattr(self, attribute), doc=doc or attribute.lstrip("_"))


class Environment(object):
    """Snapshot of the variables the library honours, validated at construction.

    Timeouts are seconds. ``SAGEMAKER_MODEL_SERVER_TIMEOUT`` is the response timeout in seconds
    (default 60) and ``SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS``, when set, overrides it; the
    effective value is ``response_timeout_seconds``, which the model server writes to MMS's
    ``default_response_timeout_seconds`` (MMS 1.1 reads ``default_response_timeout`` as minutes,
    which is why 1.10.1's 60 meant an hour).

    ``strict=False`` gives a setting's default for a bad value instead of raising (the reading
    at import). The Java front end reads a few variables itself from the environment the
    server passes it (keep-alive, batching, multi-model); they are validated here so that a
    bad value fails at start.
    """

    P = parameters
    # The table: attribute = Setting(variable, kind, default, doc).
    # 1.10.1's settings keep its private attribute names (containers assign some of them, e.g.
    # ``env._model_server_workers = "2"``); the public properties below read them.
    _base_dir = Setting(P.BASE_PATH_ENV, PATH, DEFAULT_BASE_DIR, "root instead of /opt/ml")
    _multi_model = Setting(P.MULTI_MODEL_ENV, BOOL, False, "multi-model endpoint mode")
    _module_name = Setting(P.USER_PROGRAM_ENV, TEXT, DEFAULT_MODULE_NAME, "the user's module")
    _model_server_timeout = Setting(
        P.MODEL_SERVER_TIMEOUT_ENV, integer(1), DEFAULT_MODEL_SERVER_TIMEOUT, "seconds"
    )
    _model_server_timeout_seconds = Setting(
        P.MODEL_SERVER_TIMEOUT_SECONDS_ENV, integer(1), None, "seconds; overrides the above"
    )
    _model_server_workers = Setting(
        P.MODEL_SERVER_WORKERS_ENV, integer(1), None, "workers per model"
    )
    _startup_timeout = Setting(
        P.STARTUP_TIMEOUT_ENV, integer(1), DEFAULT_STARTUP_TIMEOUT, "seconds MMS may take to start"
    )
    _default_accept = Setting(
        P.DEFAULT_INVOCATIONS_ACCEPT_ENV, TEXT, DEFAULT_ACCEPT, "Accept for requests without one"
    )
    _inference_http_port = Setting(P.BIND_TO_PORT_ENV, PORT, int(DEFAULT_HTTP_PORT), "port")
    _safe_port_range = Setting(P.SAFE_PORT_RANGE_ENV, TEXT, None, "ports left to the container")
    _vmargs = Setting(P.MODEL_SERVER_VMARGS, TEXT, DEFAULT_VMARGS, "JVM arguments", keep_empty=True)
    _max_request_size = Setting(P.MAX_REQUEST_SIZE, megabytes(), None, "largest request, bytes")
    # The settings this project adds.
    bind_address = Setting(
        P.BIND_ADDRESS_ENV, ADDRESS, DEFAULT_BIND_ADDRESS, "the address MMS listens on"
    )
    management_port = Setting(
        P.MANAGEMENT_PORT_ENV, PORT, None, "single-model management port (default: picked)"
    )
    _max_response = Setting(P.MAX_RESPONSE_SIZE_ENV, megabytes(MAX_MEGABYTES), None, "bytes")
    keep_alive_timeout_seconds = Setting(
        P.KEEP_ALIVE_TIMEOUT_ENV, integer(0), DEFAULT_KEEP_ALIVE_TIMEOUT_SECONDS, "0: no limit"
    )
    max_requests_per_worker = Setting(
        P.MAX_REQUESTS_PER_WORKER_ENV, integer(0), None, "requests before a worker is replaced"
    )
    max_worker_rss = Setting(P.MAX_WORKER_RSS_ENV, megabytes(MAX_MEGABYTES), None, "bytes")
    batch_size = Setting(P.BATCH_SIZE_ENV, integer(1), 1, "requests per batch (1: none)")
    max_batch_delay_ms = Setting(
        P.MAX_BATCH_DELAY_ENV, integer(0), DEFAULT_MAX_BATCH_DELAY_MS, "wait for a batch to fill"
    )
    log_level = Setting(P.LOG_LEVEL_ENV, TEXT, DEFAULT_LOG_LEVEL, "Python level name or number")
    return_traceback = Setting(P.RETURN_TRACEBACK_ENV, BOOL, False, "tracebacks in error bodies")
    allow_pickle = Setting(P.ALLOW_PICKLE_ENV, BOOL, False, "NPY/NPZ bodies may hold objects")
    allow_json_nan = Setting(P.ALLOW_JSON_NAN_ENV, BOOL, False, "JSON may hold NaN/Infinity")
    input_fn_errors_as_500 = Setting(
        P.INPUT_FN_ERRORS_AS_500_ENV, BOOL, False, "input_fn errors answer 500, as in 1.10.1"
    )
    handler = Setting(P.HANDLER_ENV, TEXT, None, "handler service (multi-model mode)")
    load_failure_file = Setting(P.LOAD_FAILURE_FILE_ENV, PATH, None, "failed loads are counted")
    max_load_failures = Setting(
        P.MAX_LOAD_FAILURES_ENV, integer(1), DEFAULT_MAX_LOAD_FAILURES, "loads before giving up"
    )
    shutdown_grace_seconds = Setting(
        P.SHUTDOWN_GRACE_ENV, SECONDS, DEFAULT_SHUTDOWN_GRACE_SECONDS, "in-flight time on stop"
    )
    max_decoded_bytes = Setting(
        P.MAX_DECODED_BYTES_ENV, integer(1), DEFAULT_MAX_DECODED_BYTES, "NPZ bound", lenient=True
    )
    ca_repository_arn = Setting(P.CA_REPOSITORY_ARN_ENV, TEXT, None, "CodeArtifact for pip")
    state_dir_override = Setting(P.STATE_DIR_ENV, PATH, None, "files the server writes")
    xdg_state_home = Setting("XDG_STATE_HOME", PATH, None, "state root when STATE_DIR is unset")
    config_file = Setting(P.CONFIG_FILE_ENV, PATH, None, "MMS properties file (default: chosen)")
    plugins_path = Setting(
        P.PLUGINS_PATH_ENV, PATH, None, "plugin jars; '' disables", keep_empty=True
    )
    patches_path = Setting(
        P.PATCHES_PATH_ENV, PATH, None, "MMS patch jar; '' disables", keep_empty=True
    )
    plugin_cache_dir = Setting(P.PLUGIN_CACHE_DIR_ENV, PATH, None, "rebuilt jars")
    cds_archive = Setting(P.CDS_ARCHIVE_ENV, PATH, None, "class-data-sharing archive")
    java_home = Setting("JAVA_HOME", PATH, None, "the Java runtime (default: java on PATH)")
    del P

    def __init__(self, environ: Optional[Mapping[str, str]] = None, strict: bool = True):
        env = os.environ if environ is None else environ
        for setting in settings():
            setattr(self, setting.name, setting.read(env, strict))
        self._management_http_port = self._inference_http_port

    base_dir = exposed("_base_dir")
    multi_model = exposed("_multi_model")
    model_server_timeout = exposed("_model_server_timeout", "seconds (default 60)")
    model_server_timeout_seconds = exposed("_model_server_timeout_seconds", "None when unset")
    startup_timeout = exposed("_startup_timeout")
    default_accept = exposed("_default_accept")
    safe_port_range = exposed("_safe_port_range")
    vmargs = exposed("_vmargs")
    max_request_size = exposed("_max_request_size", "SAGEMAKER_MAX_PAYLOAD_IN_MB in bytes, or None")

    @property
    def model_dir(self) -> str:
        return os.path.join(self.base_dir, "models" if self.multi_model else "model")

    @property
    def code_dir(self) -> str:
        return os.path.join(self.model_dir, "code")

    @property
    def module_name(self) -> str:
        """``SAGEMAKER_PROGRAM`` without a trailing ``.py`` (default ``inference``)."""
        name = self._module_name
        return name[:-3] if name.endswith(".py") else name

    @property
    def program(self) -> str:
        """``SAGEMAKER_PROGRAM`` as given (default ``inference.py``)."""
        return self._module_name

    @property
    def response_timeout_seconds(self) -> int:
        """Seconds MMS waits for a prediction: the ``_SECONDS`` variable, else the plain one."""
        if self.model_server_timeout_seconds is not None:
            return self.model_server_timeout_seconds
        return self.model_server_timeout

    @property
    def model_server_workers(self) -> Optional[str]:
        """Workers per model as a string (1.10.1's type), or None for MMS's default (one per
        CPU). The value is checked to be a positive integer when the Environment is built."""
        workers = self._model_server_workers
        return None if workers is None else str(workers)

    @property
    def inference_http_port(self) -> str:
        return str(self._inference_http_port)

    @property
    def management_http_port(self) -> str:
        """1.10.1's name: the inference port (management shares it on a multi-model endpoint)."""
        return str(self._management_http_port)

    @property
    def max_response_size(self) -> int:
        """Largest response body in bytes a worker may send (MMS's ``max_response_size``).

        ``SAGEMAKER_MAX_RESPONSE_SIZE_IN_MB`` when set; otherwise the larger of
        ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` and MMS's default of 6553500 bytes.
        """
        if self._max_response is not None:
            return self._max_response
        return max(self.max_request_size or 0, DEFAULT_MAX_RESPONSE_SIZE)

    @property
    def state_dir(self) -> str:
        """Per-user directory for files the server writes when /etc is not an option:
        SAGEMAKER_STATE_DIR, else ``$XDG_STATE_HOME/sagemaker-inference`` (XDG's default
        ``~/.local/state`` when unset)."""
        if self.state_dir_override:
            return self.state_dir_override
        root = self.xdg_state_home or os.path.join(os.path.expanduser("~"), ".local", "state")
        return os.path.join(root, "sagemaker-inference")


def settings() -> List[Setting]:
    """Every setting of the :class:`Environment` table, in table order."""
    return [value for value in vars(Environment).values() if isinstance(value, Setting)]


def read_setting(
    attribute: str,
    environ: Optional[Mapping[str, str]] = None,
    default: Any = TABLE_DEFAULT,
    strict: bool = True,
) -> Any:
    """One setting of the table (by attribute name) read now from ``environ`` (default
    ``os.environ``): for a helper that must not fail on other settings, or a value read per
    call. ``default`` replaces the table's default (the CLI, for one, binds 127.0.0.1 when no
    address is set); ``strict=False`` gives the default for a bad value (the strict reading at
    start has already refused it)."""
    setting = vars(Environment)[attribute]
    return setting.read(os.environ if environ is None else environ, strict, default)


def or_current(env: Optional[Environment]) -> Environment:
    """``env``, or a lenient reading of ``os.environ`` for a caller that passed none."""
    return env if env is not None else Environment(strict=False)


# The one reading at import (lenient); 1.10.1's module constants come from it.
at_import = Environment(strict=False)
base_dir = at_import.base_dir
multi_model = at_import.multi_model
model_dir = at_import.model_dir
code_dir = at_import.code_dir
