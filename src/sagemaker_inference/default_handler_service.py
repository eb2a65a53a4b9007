"""The handler service MMS loads: one class with ``initialize(context)`` and ``handle``.

MMS instantiates the only class defined in the handler module, so this module defines exactly
one class. MMS also swallows exceptions from ``initialize``, which would leave a worker that looks
loaded but cannot answer; a failed load therefore ends the worker process (see ``initialize``).
"""

import os
import sys
import traceback
from typing import Any, List, Optional

from sagemaker_inference import environment, parameters, utils
from sagemaker_inference import logging as sm_logging
from sagemaker_inference.recycling import RETIRE_HEADER, WorkerRecycler
from sagemaker_inference.transformer import ERROR_CONTENT_TYPE, Transformer
from sagemaker_inference.watchdog import HangWatchdog

logger = sm_logging.get_logger()

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_MMS_WORKER_SCRIPT = "model_service_worker.py"


def _in_model_server_worker() -> bool:
    """True inside an MMS Python worker (its entry script is mms/model_service_worker.py)."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None) or ""
    return os.path.basename(script) == _MMS_WORKER_SCRIPT or "mms.model_service_worker" in (
        sys.modules
    )


def _exit_worker(status: int) -> None:
    """End this worker at once so MMS's front end sees the load fail (tests patch this)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or odd stream must not keep the worker alive
            pass
    os._exit(status)


def _failure_location(exc: BaseException, code_dir: Optional[str]) -> Optional[str]:
    """``file:line`` where ``exc`` arose in user code, else in the innermost non-library frame."""
    if isinstance(exc, SyntaxError) and exc.filename:
        return "{}:{}".format(exc.filename, exc.lineno)
    frames = traceback.extract_tb(exc.__traceback__)
    user_dir = os.path.abspath(code_dir) + os.sep if code_dir else None
    outside_library = None
    for frame in reversed(frames):
        filename = os.path.abspath(frame.filename)
        if user_dir and filename.startswith(user_dir):
            return "{}:{}".format(frame.filename, frame.lineno)
        if outside_library is None and not (
            filename.startswith(_PACKAGE_DIR + os.sep) or frame.filename.startswith("<frozen")
        ):
            outside_library = "{}:{}".format(frame.filename, frame.lineno)
    if outside_library is not None:
        return outside_library
    if frames:
        return "{}:{}".format(frames[-1].filename, frames[-1].lineno)
    return None


def load_failure_summary(exc: BaseException, code_dir: Optional[str] = None) -> str:
    """One line: ``Model failed to load: <Type>: <message> (<file>:<line>)``."""
    detail = utils.one_line(exc)
    summary = "Model failed to load: {}".format(type(exc).__name__)
    if detail:
        summary += ": " + detail
    location = _failure_location(exc, code_dir)
    if location:
        summary += " ({})".format(location)
    return summary


class DefaultHandlerService(object):
    """Entry point MMS calls: ``initialize(context)`` once per worker, then ``handle`` per batch.

    ``exit_on_load_failure`` (default True) ends the MMS worker when the model fails to load;
    outside an MMS worker, or when it is False, the exception is raised instead.

    Unless SAGEMAKER_CONTAINER_LOG_LEVEL is DEBUG or more verbose (read at ``initialize``), MMS's
    per-request metric lines are dropped before they are written: the server only logs them at
    DEBUG, so writing and parsing them would be wasted work.
    """

    exit_on_load_failure = True
    _drop_metrics = False
    # Largest body MMS's front end takes from a worker (max_response_size); read at initialize.
    max_response_size = environment.DEFAULT_MAX_RESPONSE_SIZE
    # Inside an MMS worker: ends the worker when a request outlives the response timeout.
    _watchdog: Optional[HangWatchdog] = None
    # Inside an MMS worker, when a recycling bound is set: asks for the worker's replacement.
    _recycler: Optional[WorkerRecycler] = None

    def __init__(self, transformer: Optional[Transformer] = None):
        self._service = transformer if transformer is not None else Transformer()

    def handle(self, data: Optional[List[Any]], context: Any) -> Optional[List[Any]]:
        """Answer the batch; a body larger than ``max_response_size`` is replaced by a 500.

        MMS's front end would otherwise drop the whole answer as a corrupt frame and kill this
        worker ("Worker died.", the model loaded again); the 500 names the limit and the setting.
        Inside an MMS worker a batch that runs past the response timeout ends the worker (see
        :mod:`sagemaker_inference.watchdog`): MMS has answered it and replaced the worker; and
        once a recycling bound is reached the answer asks for the worker's replacement (see
        :mod:`sagemaker_inference.recycling`).
        """
        watchdog = self._watchdog
        if watchdog is not None:
            watchdog.enter()
        try:
            result = self._service.transform(data, context)
        finally:
            if watchdog is not None:
                watchdog.leave()
        recycler = self._recycler
        if recycler is not None and recycler.after(len(data or ())) and data:
            context.set_response_header(0, RETIRE_HEADER, "1")
        if isinstance(result, list):
            for index, body in enumerate(result):
                size = _wire_size(body, self.max_response_size)
                if size > self.max_response_size:
                    result[index] = _response_too_large(
                        context, index, size, self.max_response_size
                    )
        if self._drop_metrics:
            _drop_request_metrics(context)
        return result

    def initialize(self, context: Any) -> None:
        """Load the model; on failure report it and end the worker (fail-fast contract).

        The summary line goes to the log (with the traceback) and is appended to
        ``$SAGEMAKER_LOAD_FAILURE_FILE`` when set, where the supervisor counts failed loads.
        """
        env = environment.Environment()
        sm_logging.configure_logger(env=env)
        self._drop_metrics = not sm_logging.metrics_wanted(env.log_level)
        self.max_response_size = env.max_response_size
        if isinstance(self._service, Transformer):
            self._service.use_environment(env)
        if _in_model_server_worker():
            self._watchdog = HangWatchdog(env.response_timeout_seconds)
            recycler = WorkerRecycler(env.max_requests_per_worker, env.max_worker_rss)
            self._recycler = recycler if recycler.enabled else None
        properties = getattr(context, "system_properties", None) or {}
        model_dir = properties.get("model_dir") or environment.model_dir
        try:
            self._service.validate_and_initialize(model_dir=model_dir, context=context)
        except Exception as exc:
            summary = load_failure_summary(exc, os.path.join(model_dir, "code"))
            logger.error("%s\n%s", summary, traceback.format_exc().rstrip())
            _record_load_failure(summary, env.load_failure_file)
            if self.exit_on_load_failure and _in_model_server_worker():
                _exit_worker(1)
            raise


def _wire_size(body: Any, limit: int) -> int:
    """Bytes ``body`` takes on the wire (str as UTF-8); 0 for values MMS sizes itself.

    A str is only encoded when its length alone cannot tell whether it fits.
    """
    if isinstance(body, (bytes, bytearray, memoryview)):
        return memoryview(body).nbytes
    if isinstance(body, str):
        if len(body) > limit or len(body) * 4 <= limit:
            return len(body)
        return len(body.encode("utf-8", "surrogatepass"))
    return 0


def _response_too_large(context: Any, index: int, size: int, limit: int) -> str:
    message = (
        "The response of {} bytes is larger than the server's limit of {} bytes (MMS "
        "max_response_size); set {} (or {}) to raise it".format(
            size, limit, parameters.MAX_RESPONSE_SIZE_ENV, parameters.MAX_REQUEST_SIZE
        )
    )
    logger.error("Request %d failed (500): %s", index, message)
    context.set_response_status(code=500, phrase="Internal Server Error", idx=index)
    context.set_response_content_type(index, ERROR_CONTENT_TYPE)
    return message


def _drop_request_metrics(context: Any) -> None:
    """Keep MMS from logging this request's metric lines, which our log4j2 config discards.

    Relies on MMS 1.1 internals: after ``handle`` returns, ``Service.predict`` records the
    prediction time on its own reference to the store, and the worker writes a "[METRICS]" line
    to the front end only while ``context.metrics`` is not None. Each request gets a new store.
    """
    try:
        if getattr(context, "metrics", None) is not None:
            context.metrics = None
    except Exception:  # a context without a settable attribute keeps its metrics
        pass


def _record_load_failure(summary: str, path: Optional[str]) -> None:
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(summary + "\n")
            handle.flush()
    except OSError as exc:
        logger.warning("Could not record the load failure in %s: %s", path, exc)
