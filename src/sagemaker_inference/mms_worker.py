"""Run MMS's Python backend (``model_service_worker.py``) so it cannot outlive the server.

The server's java command names a small launcher script (see :func:`write_launcher`) as MMS's
Python; MMS runs it as ``<launcher> .../mms/model_service_worker.py --sock-type ...``, and it
execs ``python -m sagemaker_inference.mms_worker`` with those arguments. Before handing over to
MMS's script unchanged, this module:

* ends the backend as soon as its parent, the JVM, has ended (a pidfd wait), however the JVM
  died; the JVM itself dies with the supervisor (``PR_SET_PDEATHSIG``), so a SIGKILLed
  entrypoint takes the whole tree with it;
* makes each worker the backend forks die with the backend (``PR_SET_PDEATHSIG`` in the child);
* records every ERROR line the backend or its workers log, one line each, in a file the
  supervisor reads, so a worker that dies during start-up can be named with its reason;
* reads and writes MMS's worker frames with few system calls (:mod:`.mms_protocol`).
"""

from __future__ import annotations

import logging
import os
import runpy
import signal
import stat
import sys
import threading
import time
from typing import List, Optional, Sequence, Tuple

from sagemaker_inference import lifetime, mms_protocol

LAUNCHER_NAME = "mms-python"
_ERROR_LINE_LIMIT = 500
_ERROR_FILE_LIMIT = 64 * 1024
STARTUP_TAG = "[start-up]"
WORKER_DIED = "Backend worker process died"
_armed_pid: Optional[int] = None
_forking_pid: Optional[int] = None
# Whether this process has answered MMS's load command with success: errors before that are
# start-up failures, which the supervisor counts like failed model_fn calls.
_loaded = False


def write_launcher(directory: str, error_file: str, python: Optional[str] = None) -> Optional[str]:
    """Write the launcher script into ``directory``; its path, or None when it cannot be run
    from there (for example a ``noexec`` mount), in which case MMS should get plain Python."""
    path = os.path.join(directory, LAUNCHER_NAME)
    script = '#!/bin/sh\nexec {} -m sagemaker_inference.mms_worker --error-file {} -- "$@"\n'
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(script.format(_sh_quote(python or sys.executable), _sh_quote(error_file)))
    os.chmod(path, stat.S_IRWXU)
    return path if os.access(path, os.X_OK) else None


def _sh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _recorded(error_file: Optional[str]) -> List[str]:
    if not error_file:
        return []
    try:
        with open(error_file, encoding="utf-8", errors="replace") as handle:
            return [line.strip() for line in handle if line.strip()]
    except OSError:
        return []


def last_error(error_file: Optional[str]) -> Optional[str]:
    """The message of the last line recorded in ``error_file`` (no time or pid), or None."""
    lines = _recorded(error_file)
    if not lines:
        return None
    parts = lines[-1].split("] ", 1)
    message = parts[-1]
    return message[len(STARTUP_TAG) :].strip() if message.startswith(STARTUP_TAG) else message


def startup_deaths(error_file: Optional[str]) -> int:
    """How many workers died before their model was loaded, by the lines recorded."""
    marker = "{} {}".format(STARTUP_TAG, WORKER_DIED)
    return sum(1 for line in _recorded(error_file) if marker in line)


class ErrorRecorder(logging.Handler):
    """Appends one line per ERROR record: the message, then the exception's type and text."""

    def __init__(self, path: str):
        super().__init__(level=logging.ERROR)
        self.path = path

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record.getMessage().strip().splitlines()[0] if record.getMessage() else ""
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                detail = "{}: {}".format(type(exc).__name__, str(exc).strip())
                line = "{} {}".format(line, detail).strip()
            line = " ".join(line.split())[:_ERROR_LINE_LIMIT]
            if not _loaded:
                line = "{} {}".format(STARTUP_TAG, line)
            stamp = time.strftime("%H:%M:%S")
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_size > _ERROR_FILE_LIMIT:
                    os.ftruncate(fd, 0)  # only the last lines matter; never grow without bound
                os.write(fd, "{} [pid {}] {}\n".format(stamp, os.getpid(), line).encode())
            finally:
                os.close(fd)
        except Exception:  # noqa: B902 - recording must never break the worker
            pass


def _before_fork() -> None:
    global _forking_pid
    armed = os.getpid() == _armed_pid and threading.current_thread() is threading.main_thread()
    _forking_pid = os.getpid() if armed else None


def _after_fork_in_child() -> None:
    if _forking_pid is not None:
        lifetime.die_with_parent(_forking_pid)


def _track_load_answers() -> None:
    """Wrap MMS's load-response builder, which its worker script imports by name, so this
    process knows when its model loaded (the answer MMS sends is unchanged)."""
    from mms.protocol import otf_message_handler

    build = otf_message_handler.create_load_model_response

    def create_load_model_response(code, message):  # type: ignore[no-untyped-def]
        global _loaded
        _loaded = code == 200
        return build(code, message)

    otf_message_handler.create_load_model_response = create_load_model_response


def _end_backend() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _configure_logging(error_file: Optional[str]) -> None:
    # What MMS's script asks logging.basicConfig for (its call then changes nothing), plus the
    # recorder; forked workers inherit both.
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if error_file:
        root.addHandler(ErrorRecorder(error_file))


def _parse(argv: Sequence[str]) -> Tuple[Optional[str], List[str]]:
    args = list(argv)
    error_file = None
    if args[:1] == ["--error-file"] and len(args) >= 2:
        error_file, args = args[1], args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        raise SystemExit(
            "usage: python -m sagemaker_inference.mms_worker "
            "[--error-file FILE] -- WORKER_SCRIPT [ARGS...]"
        )
    return error_file, args


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Arm the lifetime ties, then run MMS's worker script as ``__main__`` with its arguments."""
    global _armed_pid
    error_file, args = _parse(sys.argv[1:] if argv is None else argv)
    _armed_pid = os.getpid()
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    lifetime.watch_parent(_end_backend)
    _configure_logging(error_file)
    mms_protocol.install()
    _track_load_answers()
    script = os.path.abspath(args[0])
    sys.argv = [script] + args[1:]
    # As `python script.py` would: the script's directory first on sys.path (MMS's script
    # removes it again), not this process's working directory.
    sys.path[0] = os.path.dirname(script)
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
