"""Where the model server keeps its files, and the MMS properties file it writes."""

from __future__ import annotations

import logging
import os
import random
import socket
import tempfile
from typing import Any, Dict, Iterable, Optional

from sagemaker_inference import parameters, plugin
from sagemaker_inference.environment import Environment, or_current

LOGGER = logging.getLogger("sagemaker-inference")

ETC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "etc")
DEFAULT_PROPERTIES_TEMPLATE = os.path.join(ETC_DIR, "default-mms.properties")
MME_PROPERTIES_TEMPLATE = os.path.join(ETC_DIR, "mme-mms.properties")
LOG4J2_CONFIG = os.path.join(ETC_DIR, "log4j2.xml")

SYSTEM_CONFIG_FILE = "/etc/sagemaker-mms.properties"
CONFIG_FILE_ENV = parameters.CONFIG_FILE_ENV
STATE_DIR_ENV = parameters.STATE_DIR_ENV
PLUGINS_PATH_ENV = parameters.PLUGINS_PATH_ENV
PATCHES_PATH_ENV = parameters.PATCHES_PATH_ENV
MANAGEMENT_PORT_ENV = parameters.MANAGEMENT_PORT_ENV
LOAD_FAILURE_FILE_ENV = parameters.LOAD_FAILURE_FILE_ENV
# The name of the one model a single-model endpoint serves (1.10.1's DEFAULT_MMS_MODEL_NAME).
SINGLE_MODEL_NAME = "model"

# MMS 1.1 rejects port numbers of 32767 and above (so the kernel's ephemeral range is out).
MAX_MMS_PORT = 32767
MIN_RANDOM_PORT = 20000

# MMS refuses bodies above this many bytes unless max_request_size says otherwise (6.5 MB).
MMS_DEFAULT_MAX_SIZE = 6553500


# MMS names each worker's Unix socket <java.io.tmpdir>/.mms.sock.<port>; a Unix socket path
# holds at most 107 bytes on Linux. The runtime directory is made short enough for any port.
UNIX_SOCKET_PATH_MAX = 107
_SOCKET_NAME = "/.mms.sock.65535"
_RUNTIME_PREFIX = "smi-"
_RUNTIME_NAME_LENGTH = len(_RUNTIME_PREFIX) + 8 + 1  # mkdtemp adds 8 characters, plus "/"
SHORT_TEMP_DIRS = ("/tmp", "/dev/shm", "/var/tmp")

# On a multi-model endpoint SageMaker sets no worker count; one worker per model keeps the
# memory of a host that holds many models bounded (sagemaker-inference 1.10.1 did the same).
MULTI_MODEL_DEFAULT_WORKERS = 1


def runtime_dir() -> str:
    """Make a private directory for MMS's worker sockets, short enough for their paths.

    Under TMPDIR when that is short enough, else under /tmp, /dev/shm or /var/tmp (logged);
    raises ValueError naming TMPDIR, its length and the fix when none of them will do.
    """
    preferred = tempfile.gettempdir()
    limit = UNIX_SOCKET_PATH_MAX - len(_SOCKET_NAME) - _RUNTIME_NAME_LENGTH
    for base in (preferred,) + tuple(d for d in SHORT_TEMP_DIRS if d != preferred):
        if len(os.fsencode(base)) > limit or not os.path.isdir(base):
            continue
        try:
            path = tempfile.mkdtemp(prefix=_RUNTIME_PREFIX, dir=base)
        except OSError:
            continue
        if base != preferred:
            LOGGER.info(
                "TMPDIR %s is %d bytes, too long for MMS's Unix socket paths (%d at most); "
                "its sockets go to %s instead",
                preferred,
                len(os.fsencode(preferred)),
                UNIX_SOCKET_PATH_MAX,
                path,
            )
        return path
    raise ValueError(
        "MMS's worker socket {}{}{} would be longer than the {}-byte limit of a Unix socket "
        "path, and none of {} is writable: set TMPDIR to a writable directory of at most {} "
        "characters".format(
            preferred,
            "/" + _RUNTIME_PREFIX + "XXXXXXXX",
            _SOCKET_NAME,
            UNIX_SOCKET_PATH_MAX,
            ", ".join(SHORT_TEMP_DIRS),
            limit,
        )
    )


def state_dir(env: Optional[Environment] = None) -> str:
    """The per-user directory for files the server writes when /etc is not an option."""
    return or_current(env).state_dir


def _writable(path: str) -> bool:
    if os.path.exists(path):
        return os.access(path, os.W_OK)
    return os.access(os.path.dirname(path) or ".", os.W_OK)


def config_file_path(env: Optional[Environment] = None) -> str:
    """SAGEMAKER_MMS_CONFIG_FILE, else /etc/sagemaker-mms.properties if writable, else state dir."""
    env = or_current(env)
    if env.config_file:
        return env.config_file
    if _writable(SYSTEM_CONFIG_FILE):
        return SYSTEM_CONFIG_FILE
    return os.path.join(env.state_dir, "sagemaker-mms.properties")


def load_failure_file(env: Optional[Environment] = None) -> str:
    """Where the supervisor counts failed loads: SAGEMAKER_LOAD_FAILURE_FILE, else the state
    directory's ``load-failures``."""
    env = or_current(env)
    return env.load_failure_file or os.path.join(env.state_dir, "load-failures")


def read_properties(path: str) -> Dict[str, str]:
    """Parse a Java properties file of simple ``key=value`` lines (comments and blanks skipped)."""
    result: Dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith(("#", "!")) or "=" not in line:
                continue
            key, value = line.split("=", 1)
            result[key.strip()] = value.strip()
    return result


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _parse_port_range(value: Optional[str]) -> Optional[range]:
    if not value:
        return None
    parts = value.replace("-", " ").split()
    try:
        low, high = int(parts[0]), int(parts[-1])
    except (ValueError, IndexError):
        LOGGER.warning("Ignoring unparsable SAGEMAKER_SAFE_PORT_RANGE %r", value)
        return None
    return range(min(low, high), max(low, high) + 1)


def pick_management_port(
    inference_port: int, safe_port_range: Optional[str] = None, explicit: Optional[int] = None
) -> int:
    """A loopback port for the single-model management API, never the inference port.

    ``explicit`` (SAGEMAKER_MANAGEMENT_PORT) wins; otherwise the first free port of
    ``safe_port_range`` (the ports SageMaker leaves to the container), otherwise a random one.
    """
    if explicit:
        return int(explicit)
    candidates: Iterable[int] = _parse_port_range(safe_port_range) or ()
    for port in candidates:
        if port != int(inference_port) and port < MAX_MMS_PORT and _port_is_free(port):
            return port
    return free_port(exclude=(int(inference_port),))


def free_port(exclude: Iterable[int] = ()) -> int:
    """A free loopback port below 32767, the highest port MMS 1.1 accepts."""
    excluded = set(exclude)
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(MIN_RANDOM_PORT, MAX_MMS_PORT)
        if port not in excluded and _port_is_free(port):
            return port
    raise RuntimeError("No free port below {} for MMS".format(MAX_MMS_PORT))


def _bundled_plugin(cache_dir: Optional[str]) -> Optional[str]:
    try:
        return plugin.ensure_plugin(cache_dir)
    except Exception as exc:  # noqa: B902 - a broken plugin must not stop the server
        LOGGER.warning(
            "The /ping readiness plugin is unavailable (%s: %s); MMS answers /ping itself.",
            type(exc).__name__,
            exc,
        )
        return None


def plugins_path(env: Optional[Environment] = None) -> Optional[str]:
    """Directory of MMS endpoint plugin jars: SAGEMAKER_MMS_PLUGINS_PATH or the bundled plugin."""
    env = or_current(env)
    if env.plugins_path is not None:
        return env.plugins_path or None
    return _bundled_plugin(env.plugin_cache_dir)


def patches_path(env: Optional[Environment] = None) -> Optional[str]:
    """Jar of fixed MMS classes for the front of java's -cp: SAGEMAKER_MMS_PATCHES_PATH (empty
    disables) or the bundled one; None when unavailable (warning logged)."""
    env = or_current(env)
    if env.patches_path is not None:
        return env.patches_path or None
    try:
        return plugin.ensure_patches(env.plugin_cache_dir)
    except Exception as exc:  # noqa: B902 - a broken patch build must not stop the server
        LOGGER.warning(
            "MMS front-end patches unavailable (%s: %s); MMS's own classes are used.",
            type(exc).__name__,
            exc,
        )
        return None


def timeout_seconds(env: Any) -> Optional[int]:
    """Response timeout in seconds: SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS, else ..._TIMEOUT."""
    value = getattr(env, "response_timeout_seconds", None)
    if not value:
        value = getattr(env, "model_server_timeout_seconds", None)
    if not value:
        value = getattr(env, "model_server_timeout", None)
    return int(value) if value else None


def _setting(env: Any, name: str) -> Any:
    """Setting ``name`` of ``env``; for a stand-in without it (a 1.10.1-style object), the
    setting read from the environment now."""
    if hasattr(env, name):
        return getattr(env, name)
    return getattr(or_current(None), name)


def _url_host(address: str) -> str:
    return "[{}]".format(address) if ":" in address else address


def _custom_properties(
    env: Any,
    handler_service: Optional[str],
    multi_model: bool,
    model_store: Optional[str],
    management_port: Optional[int],
    plugins: Optional[str],
) -> Dict[str, Any]:
    port = env.inference_http_port
    inference = "http://{}:{}".format(_url_host(getattr(env, "bind_address", "0.0.0.0")), port)
    if multi_model:
        management = inference
    else:
        management = "http://127.0.0.1:{}".format(
            management_port
            or pick_management_port(
                port,
                getattr(env, "safe_port_range", None),
                _setting(env, "management_port"),
            )
        )
    handler = handler_service or _setting(env, "handler")
    props: Dict[str, Any] = {
        "inference_address": inference,
        "management_address": management,
        "model_store": model_store,
        "default_workers_per_model": _workers(env, multi_model),
        "default_response_timeout_seconds": timeout_seconds(env),
        "default_service_handler": handler,
        "vmargs": getattr(env, "vmargs", None),
        "plugins_path": plugins,
    }
    max_request = getattr(env, "max_request_size", None)
    if max_request:
        props["max_request_size"] = int(max_request)
        props["max_response_size"] = max(int(max_request), MMS_DEFAULT_MAX_SIZE)
    max_response = getattr(env, "max_response_size", None)
    if max_response:
        # The workers read the same value from the environment and answer a larger body with a
        # 500 that names it (default_handler_service), instead of MMS killing the worker.
        props["max_response_size"] = int(max_response)
    return props


def _workers(env: Any, multi_model: bool) -> Optional[int]:
    """SAGEMAKER_MODEL_SERVER_WORKERS; unset: one per model on a multi-model endpoint, MMS's
    own default (one per CPU) otherwise."""
    workers = getattr(env, "model_server_workers", None)
    if workers is None and multi_model:
        return MULTI_MODEL_DEFAULT_WORKERS
    return workers


def generate_properties(
    env: Any,
    handler_service: Optional[str] = None,
    multi_model: bool = False,
    model_store: Optional[str] = None,
    management_port: Optional[int] = None,
    plugins: Optional[str] = None,
    overrides: Optional[Dict[str, Any]] = None,
) -> str:
    """Template text for the mode followed by one ``key=value`` line per configured value.

    ``overrides`` replace the template's lines for the same keys and any computed value.
    """
    template = MME_PROPERTIES_TEMPLATE if multi_model else DEFAULT_PROPERTIES_TEMPLATE
    with open(template, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    replaced = set(overrides or ())
    kept = [line for line in lines if line.split("=", 1)[0].strip() not in replaced]
    text = "".join(line + "\n" for line in kept)
    custom = _custom_properties(
        env, handler_service, multi_model, model_store, management_port, plugins
    )
    custom.update(overrides or {})
    for key, value in custom.items():
        if value is None or value == "":
            continue
        text += "{}={}\n".format(key, str(value).replace("\n", " "))
    return text


def write_text(path: str, text: str) -> None:
    """Write atomically, creating the parent directory."""
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    tmp = "{}.{}.tmp".format(path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
