"""``serve``'s foreground run: start_model_server in this process, its output summarised.

The server writes to this process's stdout and stderr (file descriptors 1 and 2, so that Java's
and the workers' output is caught too). Both go into a pipe; a pump thread copies everything to
the log file and prints the summary lines (or, verbose, every line) on the real terminal, next
to the readiness messages.
"""

import argparse
import os
import sys
import tempfile
import threading
import time
import traceback
from typing import IO, Callable, Optional

from sagemaker_inference.cli.log_summary import summarize_line
from sagemaker_inference.cli.messages import PROG, one_line, prefixed
from sagemaker_inference.cli.readiness import ReadinessWatcher

EXIT_INTERRUPTED = 130


class Terminal(object):
    """Line writer to a terminal file descriptor, safe to share between threads."""

    def __init__(self, fd: int):
        self._stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8", errors="replace")
        self._lock = threading.Lock()

    def raw(self, line: str) -> None:
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def notice(self, message: str) -> None:
        """``message`` with the command's name before it."""
        self.raw(prefixed(message))

    def close(self) -> None:
        self._stream.close()


class OutputCapture(object):
    """File descriptors 1 and 2 sent into a pipe between start() and stop(); ``terminal`` writes
    where they went before."""

    def __init__(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved_out, self._saved_err = os.dup(1), os.dup(2)
        self.terminal = Terminal(os.dup(self._saved_out))
        self.read_fd, self._write_fd = os.pipe()

    def start(self) -> None:
        os.dup2(self._write_fd, 1)
        os.dup2(self._write_fd, 2)
        os.close(self._write_fd)

    def stop(self) -> None:
        """Put 1 and 2 back: the pipe's last writer is gone and its reader sees the end."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved_out, 1)
        os.dup2(self._saved_err, 2)
        os.close(self._saved_out)
        os.close(self._saved_err)


class OutputPump(threading.Thread):
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


def open_log(log_path: str) -> IO[bytes]:
    """The log file, appended to, after a line that marks this run's start."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    log = open(log_path, "ab")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    log.write(("==== %s serve, %s ====\n" % (PROG, stamp)).encode("utf-8"))
    return log


def run_start_model_server(handler_service: Optional[str]) -> int:
    """start_model_server's exit code: what it returns or exits with (None is 0, a text 1)."""
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


def _run_reporting_errors(handler_service: Optional[str], terminal: Terminal) -> int:
    try:
        return run_start_model_server(handler_service)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as error:  # the server could not start: one line, details in the log
        os.write(2, traceback.format_exc().encode("utf-8", "replace"))
        terminal.notice("error: %s" % one_line("%s: %s" % (type(error).__name__, error)))
        return 1


def serve_foreground(args: argparse.Namespace, port: int, log_path: str) -> int:
    """Run start_model_server with this process's stdout/stderr captured by a pump thread."""
    started = time.monotonic()
    capture = OutputCapture()
    terminal = capture.terminal
    log = open_log(log_path)
    emit = terminal.raw if args.verbose else terminal.notice
    pump = OutputPump(capture.read_fd, log, emit, args.verbose)
    watcher = ReadinessWatcher(port, started, terminal.notice, args.multi_model)
    try:
        capture.start()
        pump.start()
        watcher.start()
        code = _run_reporting_errors(args.handler_service, terminal)
    finally:
        watcher.done.set()
        capture.stop()
        pump.join(timeout=2.0)
        log.close()
    terminal.notice("stopped (exit code %d); full log: %s" % (code, log_path))
    terminal.close()
    return code


def default_log_file() -> str:
    """logs/sagemaker-inference.log under the current directory, else one in the temp dir."""
    directory = os.path.abspath("logs")
    try:
        os.makedirs(directory, exist_ok=True)
        if os.access(directory, os.W_OK):
            return os.path.join(directory, "sagemaker-inference.log")
    except OSError:
        pass
    return os.path.join(tempfile.gettempdir(), "sagemaker-inference-%d.log" % os.getpid())
