"""The ``sagemaker-inference`` command: serve a model directory locally and send it requests.

``sagemaker-inference serve`` serves a directory laid out like ``/opt/ml/model`` (model files plus
``code/inference.py``) through :func:`sagemaker_inference.model_server.start_model_server`, the
same code path a container's ENTRYPOINT uses, as a normal user and in the foreground. It prints
where it listens, when the model is loaded and each error as one line; the server's full output
goes to a log file. Ctrl-C stops the server and every process it started.

``sagemaker-inference invoke`` sends a file, stdin or a string to a running server and prints the
response body; a non-2xx status gives a non-zero exit code and the reason on stderr.

Only the standard library is used here, so the command starts quickly.
"""

import argparse
import ipaddress
import http.client
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Callable, Dict, Mapping, Optional, Sequence, Tuple

PROG = "sagemaker-inference"
DEFAULT_PORT = 8080
MAX_MMS_PORT = 32766  # MMS 1.1 rejects higher port numbers

# Exit codes of ``invoke`` (``serve`` exits with start_model_server's code).
EXIT_HTTP_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3

_EXTENSION_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/jsonlines",
    ".jsonlines": "application/jsonlines",
    ".csv": "text/csv",
    ".npy": "application/x-npy",
    ".npz": "application/x-npz",
    ".txt": "text/plain",
}


# --------------------------------------------------------------------------------------------
# argument parsing


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, got %s" % text)
    return value


def _port(text: str) -> int:
    value = _positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError("%s is not a TCP port (1-65535)" % text)
    return value


def _serve_port(text: str) -> int:
    value = _port(text)
    if value > MAX_MMS_PORT:
        raise argparse.ArgumentTypeError(
            "%s is too high: Multi Model Server accepts ports up to %d" % (text, MAX_MMS_PORT)
        )
    return value


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]")))
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an IP address" % text) from None


def _header(text: str) -> Tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError("expected NAME: VALUE, got %r" % text)
    return name.strip(), value.strip()


def _default_port() -> int:
    raw = os.environ.get("SAGEMAKER_BIND_TO_PORT", "")
    return int(raw) if raw.strip().isdigit() else DEFAULT_PORT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve a SageMaker model directory locally and send it requests.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    serve = commands.add_parser(
        "serve",
        help="serve a model directory in the foreground (Ctrl-C stops it)",
        description="Serve a model directory laid out like /opt/ml/model (model files plus "
        "code/inference.py) with Multi Model Server, the way a SageMaker container does.",
    )
    serve.add_argument(
        "--model-dir",
        default=".",
        metavar="DIR",
        help="the model directory (default: the current directory); with --multi-model, the "
        "directory holding one sub-directory per model",
    )
    serve.add_argument(
        "--port",
        type=_serve_port,
        default=None,
        metavar="N",
        help="HTTP port for /ping and /invocations (default: $SAGEMAKER_BIND_TO_PORT or 8080)",
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="Python worker processes per model (default: one per CPU; with --multi-model, "
        "one per model); sets SAGEMAKER_MODEL_SERVER_WORKERS",
    )
    serve.add_argument(
        "--host",
        type=_address,
        default=None,
        metavar="ADDRESS",
        help="address to listen on (default: $SAGEMAKER_BIND_ADDRESS or 127.0.0.1, this machine "
        "only; 0.0.0.0 for every interface, as in a container); sets SAGEMAKER_BIND_ADDRESS",
    )
    serve.add_argument(
        "--multi-model",
        action="store_true",
        help="serve a multi-model endpoint: models are loaded with POST /models",
    )
    serve.add_argument(
        "--program",
        metavar="FILE",
        default=None,
        help="the user module in DIR/code (default: inference.py); sets SAGEMAKER_PROGRAM",
    )
    serve.add_argument(
        "--handler-service",
        metavar="MODULE",
        default=None,
        help="handler service module for MMS, as a container passes to start_model_server "
        "(default: sagemaker_inference.default_handler_service)",
    )
    serve.add_argument(
        "--log-file",
        metavar="FILE",
        default=None,
        help="where the server's full output goes (default: logs/sagemaker-inference.log)",
    )
    serve.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also print the server's full output, not only the summary lines",
    )
    serve.set_defaults(func=run_serve)

    invoke = commands.add_parser(
        "invoke",
        aliases=["predict"],
        help="send a request to a running server and print the response",
        description="POST a body to /invocations (or /models/NAME/invoke) and print the "
        "response body. Exit code: 0 for a 2xx answer, 1 for any other status (the reason "
        "goes to stderr), 2 for a usage error or an unreadable file, 3 when the server cannot "
        "be reached.",
    )
    source = invoke.add_mutually_exclusive_group()
    source.add_argument(
        "input",
        nargs="?",
        default="-",
        metavar="FILE",
        help="file holding the request body; '-' or nothing reads stdin",
    )
    source.add_argument("-d", "--data", default=None, help="the request body as a string")
    invoke.add_argument(
        "--url",
        default=None,
        help="server address, e.g. http://localhost:8080 (default: localhost and --port)",
    )
    invoke.add_argument(
        "--port",
        type=_port,
        default=None,
        metavar="N",
        help="port of a local server (default: $SAGEMAKER_BIND_TO_PORT or 8080)",
    )
    invoke.add_argument(
        "-c",
        "--content-type",
        default=None,
        help="Content-Type of the body (default: from the file extension, else "
        "application/json)",
    )
    invoke.add_argument(
        "-a", "--accept", default=None, help="Accept header (default: none, server default)"
    )
    invoke.add_argument("-m", "--model", default=None, help="model name on a multi-model server")
    invoke.add_argument(
        "-H",
        "--header",
        dest="headers",
        action="append",
        type=_header,
        default=[],
        metavar="'Name: value'",
        help="extra request header (repeatable), e.g. "
        "'X-Amzn-SageMaker-Custom-Attributes: trace=1'",
    )
    invoke.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="write the body to FILE"
    )
    invoke.add_argument(
        "--timeout",
        type=float,
        default=70.0,
        metavar="SECONDS",
        help="seconds to wait for the answer (70)",
    )
    invoke.set_defaults(func=run_invoke)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``sagemaker-inference`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    return args.func(args)


# --------------------------------------------------------------------------------------------
# serve: environment


class ServeError(Exception):
    """A problem found before the server starts; its message is shown as one line."""


def serve_environment(
    model_dir: str,
    port: int,
    workers: Optional[int] = None,
    multi_model: bool = False,
    program: Optional[str] = None,
    scratch_dir: Optional[str] = None,
    host: str = "127.0.0.1",
) -> Dict[str, str]:
    """The ``SAGEMAKER_*`` variables that make start_model_server serve ``model_dir``.

    The server reads its model from ``$SAGEMAKER_BASE_DIR/model`` (``.../models`` for a
    multi-model endpoint). When ``model_dir`` already has that name its parent is the base;
    otherwise ``scratch_dir`` becomes the base, holding a symbolic link to ``model_dir``.
    """
    model_dir = os.path.abspath(model_dir)
    if not os.path.isdir(model_dir):
        raise ServeError("model directory %s does not exist" % model_dir)
    leaf = "models" if multi_model else "model"
    if os.path.basename(model_dir) == leaf:
        base_dir = os.path.dirname(model_dir)
    else:
        if scratch_dir is None:
            raise ServeError("a scratch directory is needed to serve %s" % model_dir)
        base_dir = os.path.abspath(scratch_dir)
        os.makedirs(base_dir, exist_ok=True)
        link = os.path.join(base_dir, leaf)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(model_dir, link)
    env = {
        "SAGEMAKER_BASE_DIR": base_dir,
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "SAGEMAKER_BIND_ADDRESS": host,
        "SAGEMAKER_MULTI_MODEL": "true" if multi_model else "false",
    }
    if workers is not None:
        env["SAGEMAKER_MODEL_SERVER_WORKERS"] = str(workers)
    if program is not None:
        env["SAGEMAKER_PROGRAM"] = program
    return env


def serve_host(option: Optional[str], environ: Mapping[str, str]) -> str:
    """``--host``, else SAGEMAKER_BIND_ADDRESS, else 127.0.0.1: a local server is not exposed to
    the network unless asked (a container's entrypoint binds every interface)."""
    return option or environ.get("SAGEMAKER_BIND_ADDRESS", "").strip() or "127.0.0.1"


def private_state(scratch_dir: str, environ: Mapping[str, str]) -> Dict[str, str]:
    """Per-run state (MMS config file, load-failure count) under ``scratch_dir``.

    Two servers on one machine then never share a config file (by default
    /etc/sagemaker-mms.properties when writable); variables the user set are kept.
    """
    state = os.path.join(scratch_dir, "state")
    wanted = {
        "SAGEMAKER_STATE_DIR": state,
        "SAGEMAKER_MMS_CONFIG_FILE": os.path.join(state, "sagemaker-mms.properties"),
    }
    return {name: value for name, value in wanted.items() if not environ.get(name)}


def check_model_dir(model_dir: str, program: Optional[str], multi_model: bool) -> None:
    """Raise ServeError with a hint when ``model_dir`` cannot be what the user meant."""
    model_dir = os.path.abspath(model_dir)
    if not os.path.isdir(model_dir):
        raise ServeError("model directory %s does not exist" % model_dir)
    if multi_model:
        return
    name = program or os.environ.get("SAGEMAKER_PROGRAM") or "inference.py"
    if not name.endswith(".py"):
        name += ".py"
    script = os.path.join(model_dir, "code", name)
    if not os.path.isfile(script):
        raise ServeError(
            "%s not found: a model directory holds the model files plus code/%s "
            "(pass --model-dir, or --program for another file name)" % (script, name)
        )


def check_port_free(port: int) -> None:
    """Raise ServeError when something already listens on ``port``."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("0.0.0.0", port))
    except OSError as error:
        raise ServeError(
            "port %d is already in use (%s): stop the other server or pick another port "
            "with --port" % (port, error.strerror or error)
        ) from None
    finally:
        probe.close()


# --------------------------------------------------------------------------------------------
# serve: output


_LEVEL = re.compile(r"\[?(ERROR|CRITICAL|FATAL|SEVERE|WARNING|WARN)\s*\]?(?=[\s:]|$)")
_TIMESTAMP = re.compile(r"^\s*\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\s*")
# Parts of a traceback: the library logs a one-line summary before each, and that is shown.
_TRACEBACK = re.compile(
    r"^(Traceback \(most recent call last\):|File \"|\s|During handling of|The above exception"
    r"|\^+$|~+$)"
)
# Fatal messages the Java front end prints without a level.
_UNLEVELLED_FATAL = re.compile(r"^(Invalid configuration:|Exception in thread |Error: )")
# MMS forwards a worker's output as "... W-9000-model-stdout some.Logger - <line>".
_MMS_FORWARD = re.compile(r"\bW-\S+?-std(?:out|err)\s+(?:\S+\s+)?-\s(.*)$")
# After the level: "[logger-name] ", logging's default ":name:", or Java's "thread a.b.Logger - ".
_LOGGER_PREFIXES = (
    re.compile(r"^\[[^\]]*\]\s*"),
    re.compile(r"^:[^:\s]*:"),
    re.compile(r"^(?:\S+\s+)?[\w$]+(?:\.[\w$]+)+\s+-\s+"),
)
_LIBRARY_LOGGER = "[sagemaker-inference]"


def summarize_line(line: str) -> Optional[str]:
    """The one readable line ``serve`` prints for a line of server output, or None.

    Shown: errors from anywhere (``error: <message>``) and warnings of this library's logger,
    such as rejected requests (``warning: <message>``). Timestamps, thread and logger names are
    removed; traceback lines are dropped (everything stays in the log file).
    """
    text = line.rstrip("\r\n")
    forwarded = _MMS_FORWARD.search(text)
    if forwarded:
        text = forwarded.group(1)
    text = _TIMESTAMP.sub("", text)
    if not text.strip() or _TRACEBACK.match(text):
        return None
    if _UNLEVELLED_FATAL.match(text):
        return "error: " + text.strip()
    level = _LEVEL.match(text)
    if level is None:
        return None
    rest = text[level.end() :].lstrip()
    is_error = level.group(1) not in ("WARNING", "WARN")
    if not is_error and not rest.startswith(_LIBRARY_LOGGER):
        return None
    for prefix in _LOGGER_PREFIXES:
        rest = prefix.sub("", rest, count=1)
    rest = rest.strip()
    if not rest:
        return None
    return ("error: " if is_error else "warning: ") + rest


def error_summary(line: str) -> Optional[str]:
    """The message of an error line of server output (see summarize_line), else None."""
    summary = summarize_line(line)
    if summary is None or not summary.startswith("error: "):
        return None
    return summary[len("error: ") :]


class _OutputPump(threading.Thread):
    """Copy the server's output to the log file; print error summaries (or everything)."""

    def __init__(self, read_fd: int, log: IO[bytes], emit: Callable[[str], None], verbose: bool):
        super().__init__(name="sagemaker-inference-output", daemon=True)
        self._read_fd = read_fd
        self._log = log
        self._emit = emit
        self._verbose = verbose

    def run(self) -> None:
        with os.fdopen(self._read_fd, "rb", buffering=0) as pipe:
            pending = b""
            while True:
                try:
                    chunk = pipe.read(65536)
                except OSError:
                    break
                if not chunk:
                    break
                self._log.write(chunk)
                self._log.flush()
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    self._line(raw.decode("utf-8", "replace"))
            if pending:
                self._line(pending.decode("utf-8", "replace"))

    def _line(self, line: str) -> None:
        if self._verbose:
            self._emit(line)
            return
        summary = summarize_line(line)
        if summary is not None:
            self._emit(summary)


def _ping(url: str, timeout: float = 2.0) -> Tuple[Optional[int], str]:
    """(status, body) of GET url; status None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""
    except (urllib.error.URLError, OSError, ValueError):
        return None, ""


def _healthy(status: Optional[int], body: str) -> bool:
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return True
    state = answer.get("status") if isinstance(answer, dict) else None
    return state is None or str(state).lower() == "healthy"


class _ReadinessWatcher(threading.Thread):
    """Poll /ping; report when the port answers and when the model serves."""

    def __init__(
        self,
        port: int,
        started: float,
        emit: Callable[[str], None],
        multi_model: bool,
        interval: float = 0.25,
    ):
        super().__init__(name="sagemaker-inference-ready", daemon=True)
        self._url = "http://127.0.0.1:%d/ping" % port
        self._port = port
        self._t0 = started
        self._emit = emit
        self._multi_model = multi_model
        self._interval = interval
        self.done = threading.Event()
        self.ready_after: Optional[float] = None

    def run(self) -> None:
        listening = False
        while not self.done.is_set():
            status, body = _ping(self._url)
            if status is not None and not listening:
                listening = True
                self._emit("listening on http://localhost:%d" % self._port)
            if _healthy(status, body):
                self.ready_after = time.monotonic() - self._t0
                if self._multi_model:
                    self._emit(
                        "ready after %.1f s: load models with POST /models, "
                        "then POST /models/NAME/invoke" % self.ready_after
                    )
                else:
                    self._emit(
                        "model loaded in %.1f s: send requests to POST "
                        "http://localhost:%d/invocations (Ctrl-C stops)"
                        % (self.ready_after, self._port)
                    )
                return
            self.done.wait(self._interval)


def _default_log_file() -> str:
    directory = os.path.abspath("logs")
    try:
        os.makedirs(directory, exist_ok=True)
        if os.access(directory, os.W_OK):
            return os.path.join(directory, "sagemaker-inference.log")
    except OSError:
        pass
    return os.path.join(tempfile.gettempdir(), "sagemaker-inference-%d.log" % os.getpid())


def _run_start_model_server(handler_service: Optional[str]) -> int:
    from sagemaker_inference import model_server

    try:
        if handler_service:
            code = model_server.start_model_server(handler_service=handler_service)
        else:
            code = model_server.start_model_server()
    except SystemExit as stop:
        code = stop.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def run_serve(args: argparse.Namespace) -> int:
    port = args.port if args.port is not None else _default_port()
    terminal = sys.stdout

    def say(message: str) -> None:
        terminal.write("%s: %s\n" % (PROG, message))
        terminal.flush()

    scratch = tempfile.mkdtemp(prefix="sagemaker-inference-serve-")
    try:
        try:
            if not args.multi_model:
                check_model_dir(args.model_dir, args.program, args.multi_model)
            env = serve_environment(
                args.model_dir,
                port,
                workers=args.workers,
                multi_model=args.multi_model,
                program=args.program,
                scratch_dir=scratch,
                host=serve_host(args.host, os.environ),
            )
            check_port_free(port)
        except ServeError as error:
            say("error: %s" % error)
            return EXIT_USAGE
        env.update(private_state(scratch, os.environ))
        saved_environ = {name: os.environ.get(name) for name in env}
        os.environ.update(env)
        log_path = os.path.abspath(args.log_file) if args.log_file else _default_log_file()
        say(
            "serving %s%s on port %d (full log: %s)"
            % (
                os.path.abspath(args.model_dir),
                " as a multi-model endpoint" if args.multi_model else "",
                port,
                log_path,
            )
        )
        try:
            return _serve_foreground(args, port, log_path, say)
        finally:
            for name, value in saved_environ.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _serve_foreground(
    args: argparse.Namespace, port: int, log_path: str, say: Callable[[str], None]
) -> int:
    """Run start_model_server with this process's stdout/stderr captured by a pump thread."""
    started = time.monotonic()
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1, encoding="utf-8", errors="replace")
    lock = threading.Lock()

    def raw(line: str) -> None:
        with lock:
            terminal.write(line + "\n")
            terminal.flush()

    def notice(message: str) -> None:
        raw("%s: %s" % (PROG, message))

    read_fd, write_fd = os.pipe()
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    log = open(log_path, "ab")
    log.write(
        ("==== %s serve, %s ====\n" % (PROG, time.strftime("%Y-%m-%d %H:%M:%S"))).encode("utf-8")
    )
    pump = _OutputPump(read_fd, log, raw if args.verbose else notice, args.verbose)
    watcher = _ReadinessWatcher(port, started, notice, args.multi_model)
    code = 1
    try:
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        pump.start()
        watcher.start()
        try:
            code = _run_start_model_server(args.handler_service)
        except KeyboardInterrupt:
            code = 130
        except Exception as error:  # the server could not start: one line, details in the log
            os.write(2, traceback.format_exc().encode("utf-8", "replace"))
            notice("error: %s" % _one_line("%s: %s" % (type(error).__name__, error)))
            code = 1
    finally:
        watcher.done.set()
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        pump.join(timeout=2.0)
        log.close()
    notice("stopped (exit code %d); full log: %s" % (code, log_path))
    terminal.close()
    return code


# --------------------------------------------------------------------------------------------
# invoke


def _guess_content_type(path: Optional[str]) -> str:
    if path and path != "-":
        extension = os.path.splitext(path)[1].lower()
        if extension in _EXTENSION_TYPES:
            return _EXTENSION_TYPES[extension]
    return "application/json"


def invocation_url(base: str, model: Optional[str]) -> str:
    base = base.rstrip("/")
    if "://" not in base:
        base = "http://" + base
    if model:
        return "%s/models/%s/invoke" % (base, urllib.parse.quote(model, safe=""))
    return base + "/invocations"


def _read_body(args: argparse.Namespace) -> bytes:
    if args.data is not None:
        return args.data.encode("utf-8")
    if args.input in (None, "-"):
        return sys.stdin.buffer.read()
    with open(args.input, "rb") as handle:
        return handle.read()


def _one_line(text: str, limit: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def post(
    url: str, body: bytes, headers: Dict[str, str], timeout: float
) -> Tuple[int, str, Optional[str], bytes]:
    """POST ``body`` with ``headers`` spelled as given; returns (status, reason, type, body)."""
    parts = urllib.parse.urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "localhost", parts.port, timeout=timeout)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.reason, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def run_invoke(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        body = _read_body(args)
    except OSError as error:
        print("%s: error: cannot read %s: %s" % (PROG, args.input, error.strerror), file=err)
        return EXIT_USAGE
    base = args.url or "http://localhost:%d" % (args.port or _default_port())
    url = invocation_url(base, args.model)
    headers = {"Content-Type": args.content_type or _guess_content_type(args.input)}
    if args.accept:
        headers["Accept"] = args.accept
    for name, value in args.headers:
        headers[name] = value
    try:
        status, reason, content_type, answer = post(url, body, headers, args.timeout)
    except (OSError, http.client.HTTPException, ValueError) as error:
        print(
            "%s: error: cannot reach %s (%s); is `%s serve` running?"
            % (PROG, url, getattr(error, "strerror", None) or error, PROG),
            file=err,
        )
        return EXIT_UNREACHABLE
    if not 200 <= status < 300:
        message = "%s: error: HTTP %d %s" % (PROG, status, reason)
        detail = _one_line(answer.decode("utf-8", "replace"))
        if detail and detail != _one_line(reason):
            message += ": " + detail
        print(message, file=err)
        return EXIT_HTTP_ERROR
    if args.output:
        with open(args.output, "wb") as handle:
            handle.write(answer)
        print(
            "%s: wrote %d bytes (%s) to %s" % (PROG, len(answer), content_type, args.output),
            file=err,
        )
        return 0
    out = sys.stdout.buffer
    out.write(answer)
    if answer and not answer.endswith(b"\n") and sys.stdout.isatty():
        out.write(b"\n")
    out.flush()
    return 0
