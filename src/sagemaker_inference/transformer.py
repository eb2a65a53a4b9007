"""Runs the user's hooks for every request of an MMS batch.

Everything that does not depend on the request (importing the user module, inspecting hook
signatures, reading the environment, parsing constant media types) happens once in
``validate_and_initialize``; ``transform`` then handles each request of the batch on its own:
its own headers, its own response content type and status, and its own error.

When the user opts in to batched prediction (a ``predict_batch_fn`` hook, or
``batch_stacking = True`` in the user module), ``transform`` decodes every request of the batch
first, runs the model once for the batch, then encodes every answer: see ``_transform_batch``.
"""

import contextvars
import functools
import importlib
import importlib.util
import inspect
import json
import os
import sys
import threading
import traceback
from http import HTTPStatus
from types import ModuleType
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from sagemaker_inference import (
    batching,
    content_types,
    encoder,
    environment,
    errors,
    mediatypes,
    utils,
)
from sagemaker_inference import logging as sm_logging
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler

logger = sm_logging.get_logger()

ERROR_CONTENT_TYPE = "text/plain; charset=utf-8"
MAX_PHRASE_LENGTH = 128

# Positional arguments of each user hook, not counting the optional trailing ``context``.
HOOK_ARGUMENTS = {
    "pre_model_fn": ("model_dir",),
    "model_fn": ("model_dir",),
    "model_warmup_fn": ("model_dir", "model"),
    "input_fn": ("input_data", "content_type"),
    "predict_fn": ("data", "model"),
    "predict_batch_fn": ("inputs", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "input_data", "content_type", "accept"),
}
_PIPELINE_HOOKS = ("input_fn", "predict_fn", "predict_batch_fn", "output_fn")
# Module attribute of the user module that opts in to stacking array inputs of a batch.
BATCH_STACKING_ATTRIBUTE = "batch_stacking"

_current_request: "contextvars.ContextVar[Optional[RequestView]]" = contextvars.ContextVar(
    "sagemaker_inference_current_request", default=None
)


def current_request() -> "Optional[RequestView]":
    """The request being handled, for hooks that need its headers (None outside a request).

    Hooks still receive MMS's own context object; in a batch, ``current_request().index`` says
    which of ``context.request_processor`` is theirs.
    """
    return _current_request.get()


class RequestView(object):
    """One request of an MMS batch: its index, headers (case-insensitive) and response setters."""

    __slots__ = ("context", "index", "properties", "_headers")

    def __init__(self, context: Any, index: int, properties: Mapping[str, Any]):
        self.context = context
        self.index = index
        self.properties = properties
        self._headers: Optional[Dict[str, str]] = None

    @property
    def headers(self) -> Dict[str, str]:
        """Request headers keyed by lower-cased name (MMS keeps the client's spelling)."""
        if self._headers is None:
            self._headers = {
                str(k).lower(): v for k, v in self.properties.items() if isinstance(v, str)
            }
        return self._headers

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.headers.get(name.lower(), default)

    @property
    def content_type(self) -> Optional[str]:
        return self.header("content-type")

    @property
    def accept(self) -> Optional[str]:
        return self.header("accept")

    @property
    def custom_attributes(self) -> Optional[str]:
        """The ``X-Amzn-SageMaker-Custom-Attributes`` header, or None."""
        return self.header("x-amzn-sagemaker-custom-attributes")

    def set_response_header(self, name: str, value: str) -> None:
        self.context.set_response_header(self.index, name, value)

    def set_response_status(self, code: int, phrase: str = "") -> None:
        self.context.set_response_status(code, phrase, idx=self.index)


def _arity(func: Callable) -> Tuple[int, float]:
    """(required, maximum) positional arguments ``func`` accepts; maximum is inf for *args."""
    signature = inspect.signature(func)
    required = 0
    maximum: float = 0
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            maximum += 1
            if parameter.default is parameter.empty:
                required += 1
        elif parameter.kind is parameter.VAR_POSITIONAL:
            maximum = float("inf")
        elif parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty:
            raise TypeError(
                "{} has a required keyword-only argument {!r}; hooks are called with "
                "positional arguments only".format(_describe(func), parameter.name)
            )
    return required, maximum


# How a hook receives the context (see _context_plan).
_NO_CONTEXT, _POSITIONAL_CONTEXT, _KEYWORD_CONTEXT = 0, 1, 2


def _context_plan(func: Callable, base_count: int) -> int:
    """How ``func``, called with ``base_count`` positional arguments, takes the context.

    Positionally when its next positional parameter is named ``context`` or has no default
    (or it takes ``*args``); by keyword when it has a ``context`` parameter elsewhere; else
    not at all, so an extra parameter with a default (MXNet's ``preferred_batch_size=1``)
    keeps its default.
    """
    parameters = list(inspect.signature(func).parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) > base_count:
        following = positional[base_count]
        if following.name == "context" or following.default is following.empty:
            return _POSITIONAL_CONTEXT
    elif any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return _POSITIONAL_CONTEXT
    later = positional[base_count + 1 :] + [p for p in parameters if p.kind is p.KEYWORD_ONLY]
    if any(p.name == "context" and p.kind is not p.POSITIONAL_ONLY for p in later):
        return _KEYWORD_CONTEXT
    return _NO_CONTEXT


def _raised_in(exc: BaseException, func: Optional[Callable]) -> bool:
    """True when ``exc`` was raised inside ``func``'s own code (or code it called)."""
    target = inspect.unwrap(getattr(func, "__func__", func)) if func is not None else None
    code = getattr(target, "__code__", None)
    if code is None:
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False


def _describe(func: Callable) -> str:
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    code = getattr(inspect.unwrap(getattr(func, "__func__", func)), "__code__", None)
    if code is not None:
        return "{} ({}:{})".format(name, code.co_filename, code.co_firstlineno)
    return name


def _one_line(text: str) -> str:
    return utils.one_line(text)


def _phrase(text: str) -> str:
    """A reason phrase HTTP can carry: one line, printable ASCII, bounded length."""
    cleaned = "".join(c if " " <= c < "\x7f" else " " for c in _one_line(text))
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_PHRASE_LENGTH:
        cleaned = cleaned[: MAX_PHRASE_LENGTH - 3] + "..."
    return cleaned


def describe_error(exc: BaseException) -> Tuple[int, str, str]:
    """(status, phrase, one-line message) that answer a request failing with ``exc``.

    The phrase is the standard one for the status unless the error names its own: the detail
    goes in the body. Short phrases also keep MMS 1.1's response framing away from its
    split-read defect, which kills the worker when a long header block arrives in two reads.
    """
    phrase = ""
    if isinstance(exc, errors.BaseInferenceToolkitError):
        status = exc.status_code
        message = str(exc.message) if exc.message is not None else ""
        phrase = str(exc.phrase) if exc.phrase and exc.phrase != exc.message else ""
    elif isinstance(exc, errors.UnsupportedFormatError):
        status = getattr(exc, "status_code", HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        message = str(exc)
    else:
        status = HTTPStatus.INTERNAL_SERVER_ERROR
        detail = str(exc)
        message = "{}: {}".format(type(exc).__name__, detail) if detail else type(exc).__name__
    try:
        status = int(status)
    except (TypeError, ValueError):
        status = HTTPStatus.INTERNAL_SERVER_ERROR
    if not 400 <= status <= 599:
        status = HTTPStatus.INTERNAL_SERVER_ERROR
    try:
        standard = HTTPStatus(status).phrase
    except ValueError:
        standard = "Error"
    message = _one_line(message) or standard
    return int(status), _phrase(phrase) or standard, message


def _request_properties(context: Any, index: int) -> Mapping[str, Any]:
    try:
        properties = context.request_processor[index].get_request_properties()
    except (AttributeError, IndexError, KeyError, TypeError):
        return {}
    return properties if properties is not None else {}


def _content_type_and_accept(properties: Mapping[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    content_type = accept = None
    for key, value in properties.items():
        if not isinstance(value, str):
            continue
        lowered = key.lower()
        if lowered == "content-type":
            content_type = value
        elif lowered == "accept":
            accept = value
    return content_type, accept


def _body(item: Any) -> Any:
    if isinstance(item, dict):
        body = item.get("body")
        if body is None:
            body = item.get("data")
        return b"" if body is None else body
    return item


def _wire_value(response: Any) -> Any:
    """A value MMS can send: bytes or str; other values become JSON text as MMS would write it."""
    if isinstance(response, (bytes, bytearray, str)):
        return response
    if isinstance(response, memoryview):
        return response.tobytes()
    try:
        return json.dumps(response, indent=2)
    except (TypeError, ValueError):
        pass
    try:
        return encoder.encode(response, content_types.JSON)
    except Exception:
        raise TypeError(
            "the handler returned a {} that is neither bytes, str nor JSON-serialisable; "
            "return (body, content_type) from output_fn".format(type(response).__name__)
        ) from None


def _module_file(code_dir: str, module_name: str) -> Optional[str]:
    relative = os.path.join(*module_name.split("."))
    for candidate in (
        os.path.join(code_dir, relative + ".py"),
        os.path.join(code_dir, relative, "__init__.py"),
    ):
        if os.path.isfile(candidate):
            return candidate
    return None


def _same_file(a: Optional[str], b: str) -> bool:
    if not a:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _put_first_on_path(directory: str) -> None:
    if sys.path and sys.path[0] == directory:
        return
    while directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)
    importlib.invalidate_caches()


def _load_module_from_file(module_name: str, path: str) -> ModuleType:
    package_dir = [os.path.dirname(path)] if path.endswith("__init__.py") else None
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=package_dir
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load {} from {}".format(module_name, path))
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
        raise
    return module


def import_user_module(module_name: str, model_dir: str) -> Optional[ModuleType]:
    """Import the user module from ``<model_dir>/code``, or from sys.path when it is not there.

    ``<model_dir>/code`` goes first on sys.path so that the module's sibling imports work. When a
    module of the same name is already imported from somewhere else (another model's code, an
    installed package), the file in this model's code directory is loaded in its place.
    Returns None when there is no such module anywhere (the default hooks apply).
    """
    code_dir = os.path.join(model_dir, "code")
    path = None
    if os.path.isdir(code_dir):
        _put_first_on_path(code_dir)
        path = _module_file(code_dir, module_name)
    if path is None:
        try:
            if importlib.util.find_spec(module_name) is None:
                return None
        except (ImportError, ValueError):
            return None
        return importlib.import_module(module_name)
    existing = sys.modules.get(module_name)
    if existing is not None and _same_file(getattr(existing, "__file__", None), path):
        return existing
    if existing is None:
        module = importlib.import_module(module_name)
        if _same_file(getattr(module, "__file__", None), path):
            return module
    elif "." in module_name:
        raise ImportError(
            "module {} is already imported from {}; cannot also load {}".format(
                module_name, getattr(existing, "__file__", "?"), path
            )
        )
    logger.info(
        "Loading %s from %s (replacing the module of that name from elsewhere)", module_name, path
    )
    return _load_module_from_file(module_name, path)


class Transformer(object):
    """Binds the user's hooks (or the handler's defaults) and runs them for each request."""

    # Batched prediction is off unless the user module opts in (read at load); class defaults
    # keep subclasses that build their own state without Transformer.__init__ working.
    _predict_batch_fn: Optional[Callable] = None
    _batch_stacking = False

    def __init__(self, default_inference_handler: Optional[DefaultInferenceHandler] = None):
        self._default_inference_handler = default_inference_handler or DefaultInferenceHandler()
        self._initialized = False
        self._init_lock = threading.Lock()
        self._environment: Optional[environment.Environment] = None
        self._model_dir: Optional[str] = None
        self._user_module: Optional[ModuleType] = None
        self._model: Any = None
        self._pre_model_fn: Optional[Callable] = None
        self._model_warmup_fn: Optional[Callable] = None
        self._model_fn: Optional[Callable] = None
        self._input_fn: Optional[Callable] = None
        self._predict_fn: Optional[Callable] = None
        self._predict_batch_fn: Optional[Callable] = None
        self._batch_stacking = False
        self._warned_unsplittable = False
        self._output_fn: Optional[Callable] = None
        self._transform_fn: Optional[Callable] = None
        self._arities: Dict[Any, Tuple[int, float]] = {}
        self._plans: Dict[Any, int] = {}
        self._hook_sizes: Dict[Any, int] = {}
        self._context: Any = None
        self._input_errors_are_400 = True
        self._resolve_accept: Callable[[Optional[str]], str] = lambda accept: accept or ""
        self._text_types: frozenset = frozenset()
        self._decode_text = True
        self._return_traceback = False
        handle_error = type(self).handle_error
        self._legacy_handle_error = handle_error is not Transformer.handle_error and (
            "idx" not in inspect.signature(handle_error).parameters
        )

    # ---- per request -------------------------------------------------------------------------

    def transform(self, data: Optional[List[Any]], context: Any) -> Optional[List[Any]]:
        """Answer every request of the batch; returns one response body per request."""
        if not self._initialized:
            try:
                model_dir = (context.system_properties or {}).get("model_dir")
                self.validate_and_initialize(
                    model_dir=model_dir or environment.model_dir, context=context
                )
            except Exception as exc:
                trace = traceback.format_exc()
                return [
                    self._error_response(context, i, exc, trace) for i in range(len(data or ()))
                ]
        if data is None:
            return None
        if self._predict_batch_fn is not None or (self._batch_stacking and len(data) > 1):
            return self._transform_batch(context, data)
        return [self._transform_request(context, index, item) for index, item in enumerate(data)]

    def _transform_request(self, context: Any, index: int, item: Any) -> Any:
        properties = _request_properties(context, index)
        content_type, accept_header = _content_type_and_accept(properties)
        token = _current_request.set(RequestView(context, index, properties))
        try:
            accept = self._resolve_accept(accept_header)
            body = _body(item)
            if self._decode_text:
                body = self._text_body(body, content_type)
            result = self._run_handler_function(
                self._transform_fn, self._model, body, content_type, accept, context
            )
            return self._request_answer(context, index, result, accept)
        except Exception as exc:
            return self._request_failed(context, index, exc, traceback.format_exc())
        finally:
            _current_request.reset(token)

    def _request_answer(self, context: Any, index: int, result: Any, accept: str) -> Any:
        """The body MMS sends for request ``index``; sets its content type from ``result``
        (``(body, content_type)``, or a bare body answered as ``accept``)."""
        if isinstance(result, tuple):
            response, response_content_type = result[0], result[1]
        else:
            response, response_content_type = result, accept
        response = _wire_value(response)
        if response_content_type:
            context.set_response_content_type(index, str(response_content_type))
        return response

    def _request_failed(self, context: Any, index: int, exc: Exception, trace: str) -> Any:
        """The error body for request ``index`` (input_fn's errors are the client's: 400)."""
        if self._input_errors_are_400 and self._is_input_fn_error(exc):
            detail = str(exc)
            message = "{}: {}".format(type(exc).__name__, detail) if detail else repr(exc)
            exc = errors.BadRequestError("input_fn could not read the request: " + message)
        return self._error_response(context, index, exc, trace)

    # ---- batched prediction ------------------------------------------------------------------

    def _transform_batch(self, context: Any, data: List[Any]) -> List[Any]:
        """Decode every request, predict once for the batch, encode every answer.

        Each request keeps its own headers, input_fn and output_fn call, content type, status
        and error: a request that fails to decode is answered alone and left out of the
        prediction. ``current_request()`` is None inside a call that spans several requests.
        """
        responses: List[Any] = [None] * len(data)
        views: List[RequestView] = []
        accepts: List[Any] = [None] * len(data)
        decoded: Dict[int, Any] = {}
        for index, item in enumerate(data):
            properties = _request_properties(context, index)
            content_type, accept_header = _content_type_and_accept(properties)
            view = RequestView(context, index, properties)
            views.append(view)
            token = _current_request.set(view)
            try:
                accepts[index] = self._resolve_accept(accept_header)
                body = _body(item)
                if self._decode_text:
                    body = self._text_body(body, content_type)
                decoded[index] = self._run_handler_function(
                    self._input_fn, body, content_type, context
                )
            except Exception as exc:
                responses[index] = self._request_failed(context, index, exc, traceback.format_exc())
            finally:
                _current_request.reset(token)

        indices = list(decoded)
        if self._predict_batch_fn is not None:
            outcomes = self._predict_with_batch_hook(indices, decoded, views, context)
        else:
            outcomes = self._predict_stacked(indices, decoded, views, context)

        for index in indices:
            ok, value, trace = outcomes[index]
            token = _current_request.set(views[index])
            try:
                if not ok:
                    responses[index] = self._request_failed(context, index, value, trace)
                    continue
                result = self._run_handler_function(self._output_fn, value, accepts[index], context)
                responses[index] = self._request_answer(context, index, result, accepts[index])
            except Exception as exc:
                responses[index] = self._request_failed(context, index, exc, traceback.format_exc())
            finally:
                _current_request.reset(token)
        return responses

    def _predict_one(self, view: RequestView, value: Any, context: Any) -> Tuple[bool, Any, str]:
        """predict_fn on one request's input: ``(True, prediction, "")`` or
        ``(False, exception, traceback)``."""
        token = _current_request.set(view)
        try:
            return (
                True,
                self._run_handler_function(self._predict_fn, value, self._model, context),
                "",
            )
        except Exception as exc:
            return False, exc, traceback.format_exc()
        finally:
            _current_request.reset(token)

    def _predict_stacked(
        self,
        indices: List[int],
        decoded: Dict[int, Any],
        views: List[RequestView],
        context: Any,
    ) -> Dict[int, Tuple[bool, Any, str]]:
        """One predict_fn call per group of stackable arrays (see :mod:`batching`), split by
        each request's row count; the others, and every member of a group whose call failed or
        whose prediction cannot be split, one call each (so only a bad request fails)."""
        values = [decoded[index] for index in indices]
        groups, singles = batching.plan_groups(values)
        outcomes: Dict[int, Tuple[bool, Any, str]] = {}
        for group in groups:
            arrays = [values[position] for position in group]
            rows = [array.shape[0] for array in arrays]
            try:
                prediction = self._run_handler_function(
                    self._predict_fn, batching.stack(arrays), self._model, context
                )
            except Exception as exc:
                logger.warning(
                    "predict_fn failed on %d stacked requests (%s: %s); predicting them one by one",
                    len(group),
                    type(exc).__name__,
                    _one_line(str(exc)),
                )
                singles.extend(group)
                continue
            pieces = batching.split(prediction, rows)
            if pieces is None:
                if not self._warned_unsplittable:
                    self._warned_unsplittable = True
                    logger.warning(
                        "predict_fn returned a %s that does not have one row per input row (%d); "
                        "the batch is predicted request by request (define predict_batch_fn "
                        "for models whose predictions are not row-aligned)",
                        type(prediction).__name__,
                        sum(rows),
                    )
                singles.extend(group)
                continue
            for position, piece in zip(group, pieces):
                outcomes[indices[position]] = (True, piece, "")
        for position in sorted(singles):
            index = indices[position]
            outcomes[index] = self._predict_one(views[index], values[position], context)
        return outcomes

    def _predict_with_batch_hook(
        self,
        indices: List[int],
        decoded: Dict[int, Any],
        views: List[RequestView],
        context: Any,
    ) -> Dict[int, Tuple[bool, Any, str]]:
        """``predict_batch_fn(inputs, model)`` once for the batch; when that call fails (or does
        not return one prediction per input), once per request, so only a bad request fails."""
        outcomes: Dict[int, Tuple[bool, Any, str]] = {}
        if not indices:
            return outcomes
        if len(indices) > 1:
            try:
                predictions = self._call_batch_hook([decoded[i] for i in indices], context)
            except Exception as exc:
                logger.warning(
                    "predict_batch_fn failed on %d requests (%s: %s); calling it per request",
                    len(indices),
                    type(exc).__name__,
                    _one_line(str(exc)),
                )
            else:
                for index, prediction in zip(indices, predictions):
                    outcomes[index] = (True, prediction, "")
                return outcomes
        for index in indices:
            token = _current_request.set(views[index])
            try:
                outcomes[index] = (True, self._call_batch_hook([decoded[index]], context)[0], "")
            except Exception as exc:
                outcomes[index] = (False, exc, traceback.format_exc())
            finally:
                _current_request.reset(token)
        return outcomes

    def _call_batch_hook(self, inputs: List[Any], context: Any) -> List[Any]:
        predictions = self._run_handler_function(
            self._predict_batch_fn, inputs, self._model, context
        )
        if not isinstance(predictions, (list, tuple)) or len(predictions) != len(inputs):
            got = (
                "{} of length {}".format(type(predictions).__name__, len(predictions))
                if isinstance(predictions, (list, tuple))
                else "a {}".format(type(predictions).__name__)
            )
            raise TypeError(
                "predict_batch_fn must return a list with one prediction per input "
                "({} inputs); it returned {}".format(len(inputs), got)
            )
        return list(predictions)

    def _is_input_fn_error(self, exc: BaseException) -> bool:
        """An error the input_fn raised reading the body: ValueError (JSONDecodeError,
        UnicodeDecodeError...), KeyError or TypeError, other than the toolkit's own errors."""
        if not isinstance(exc, (ValueError, KeyError, TypeError)):
            return False
        if isinstance(exc, (errors.BaseInferenceToolkitError, errors.UnsupportedFormatError)):
            return False
        return _raised_in(exc, self._input_fn)

    def _text_body(self, body: Any, content_type: Optional[str]) -> Any:
        """Text bodies reach user hooks as str, like 1.10.1 (decoded with the declared charset)."""
        if not content_type or not isinstance(body, (bytes, bytearray, memoryview)):
            return body
        try:
            media_type = mediatypes.parse_media_type(content_type)
        except errors.BadRequestError:
            return body
        if media_type.essence not in self._text_types:
            return body
        charset = media_type.charset or "utf-8"
        raw = body.tobytes() if isinstance(body, memoryview) else body
        try:
            return raw.decode(charset)
        except LookupError:
            raise errors.BadRequestError(
                "unknown charset {!r} in Content-Type {!r}".format(charset, content_type)
            ) from None
        except UnicodeDecodeError as exc:
            raise errors.BadRequestError(
                "request body is not valid {} text: {} at byte {}".format(
                    charset, exc.reason, exc.start
                )
            ) from None

    def _default_transform_fn(
        self, model: Any, input_data: Any, content_type: Optional[str], accept: str, context=None
    ) -> Any:
        data = self._run_handler_function(self._input_fn, input_data, content_type, context)
        prediction = self._run_handler_function(self._predict_fn, data, model, context)
        return self._run_handler_function(self._output_fn, prediction, accept, context)

    def _run_handler_function(self, func: Callable, *argv: Any) -> Any:
        """Call hook ``func`` with ``argv``, giving it the context as ``_context_plan`` says.

        Two calling conventions work: this library's, where the context is the last item of
        ``argv`` (``func(data, model, context)``), and 1.10.1's, where ``argv`` holds only the
        hook's own arguments and the Transformer adds the context of the request being handled
        (or of the load). Which one a call uses is told from the number of arguments for the
        hooks this Transformer bound, and otherwise from whether the last item is that context.
        """
        context = self._call_context()
        try:
            size = self._hook_sizes.get(func)
        except TypeError:  # unhashable callable
            size = None
        if size is not None and len(argv) == size + 1:
            base, context = argv[:-1], argv[-1]
        elif size is not None and len(argv) == size:
            base = argv
        elif argv and context is not None and argv[-1] is context:
            base = argv[:-1]
        else:
            return self._call_literally(func, argv, context)
        key = (func, len(base))
        try:
            plan = self._plans.get(key)
        except TypeError:
            plan, key = None, None
        if plan is None:
            plan = self._plan_for(func, len(base))
            if key is not None:
                self._plans[key] = plan
        if plan == _POSITIONAL_CONTEXT:
            return func(*base, context)
        if plan == _KEYWORD_CONTEXT:
            return func(*base, context=context)
        return func(*base)

    def _plan_for(self, func: Callable, base_count: int) -> int:
        required, maximum = _arity(func)
        plan = _context_plan(func, base_count)
        wanted = base_count + (1 if plan == _POSITIONAL_CONTEXT else 0)
        if not required <= wanted <= maximum:
            raise TypeError(
                "{} takes {} positional arguments but is called with {} (or {} with "
                "context)".format(_describe(func), required, base_count, base_count + 1)
            )
        return plan

    def _call_literally(self, func: Callable, argv: Tuple[Any, ...], context: Any) -> Any:
        """A callable this Transformer did not bind, without a known context among ``argv``:
        all of ``argv`` when ``func`` takes that many, else without the last item, else with
        the context added (1.10.1's rule for a function with one more parameter)."""
        try:
            arity = self._arities.get(func)
        except TypeError:
            arity = None
        if arity is None:
            arity = self._remember_arity(func)
        required, maximum = arity
        count = len(argv)
        if required <= count <= maximum:
            return func(*argv)
        if count and required <= count - 1 <= maximum:
            return func(*argv[:-1])
        if required == count + 1:
            return func(*argv, context)
        raise TypeError(
            "{} takes {} positional arguments but is called with {}".format(
                _describe(func), required, count
            )
        )

    def _call_context(self) -> Any:
        view = _current_request.get()
        return view.context if view is not None else self._context

    def _remember_arity(self, func: Callable) -> Tuple[int, float]:
        arity = _arity(func)
        try:
            self._arities[func] = arity
        except TypeError:
            pass
        return arity

    # ---- errors ------------------------------------------------------------------------------

    def _error_response(self, context: Any, index: int, exc: BaseException, trace: str) -> Any:
        if self._legacy_handle_error:
            result = self.handle_error(context, exc, trace)
        else:
            result = self.handle_error(context, exc, trace, idx=index)
        return result[0] if isinstance(result, list) and result else result

    def handle_error(
        self, context: Any, inference_exception: BaseException, trace: str, idx: int = 0
    ):
        """Set request ``idx``'s status and content type; returns ``[body]`` like 1.10.1.

        The body is the one-line reason; the traceback is logged, and appended to the body only
        when ``SAGEMAKER_RETURN_TRACEBACK=true``.
        """
        status, phrase, message = describe_error(inference_exception)
        if status >= 500:
            logger.error("Request %d failed (%d): %s\n%s", idx, status, message, trace.rstrip())
        else:
            logger.warning("Request %d rejected (%d): %s", idx, status, message)
            logger.debug("%s", trace.rstrip())
        context.set_response_status(code=status, phrase=phrase, idx=idx)
        context.set_response_content_type(idx, ERROR_CONTENT_TYPE)
        if self._return_traceback:
            return ["{}\n{}".format(message, trace)]
        return [message]

    # ---- loading -----------------------------------------------------------------------------

    def validate_and_initialize(self, model_dir: str = environment.model_dir, context: Any = None):
        """Import the user module, bind the hooks and load the model, once.

        Runs ``pre_model_fn(model_dir)``, ``model_fn(model_dir)`` and
        ``model_warmup_fn(model_dir, model)`` in that order, each with a trailing context when
        its signature takes one. Any exception propagates (the handler service reports it).
        """
        if self._initialized:
            return
        with self._init_lock:
            if self._initialized:
                return
            self._context = context
            self._environment = environment.Environment()
            self._return_traceback = self._environment.return_traceback
            self._model_dir = model_dir or environment.model_dir
            self._validate_user_module_and_set_functions()
            self._prepare_request_path()
            if self._pre_model_fn is not None:
                self._run_handler_function(self._pre_model_fn, self._model_dir, context)
            self._model = self._run_handler_function(self._model_fn, self._model_dir, context)
            if self._model_warmup_fn is not None:
                self._run_handler_function(
                    self._model_warmup_fn, self._model_dir, self._model, context
                )
            self._initialized = True

    def _validate_user_module_and_set_functions(self) -> None:
        handler = self._default_inference_handler
        module = import_user_module(self._environment.module_name, self._model_dir)
        self._user_module = module

        def user_hook(name: str) -> Optional[Callable]:
            hook = getattr(module, name, None) if module is not None else None
            if hook is not None and not callable(hook):
                raise TypeError(
                    "{} in {} is a {}, not a function".format(
                        name, getattr(module, "__file__", module), type(hook).__name__
                    )
                )
            return hook

        hooks = {name: user_hook(name) for name in HOOK_ARGUMENTS}
        if hooks["transform_fn"] is not None:
            clashing = [name for name in _PIPELINE_HOOKS if hooks[name] is not None]
            if clashing:
                raise ValueError(
                    "{} defines transform_fn together with {}: transform_fn replaces "
                    "input_fn, predict_fn and output_fn, so define either transform_fn alone "
                    "or any of the other three".format(
                        getattr(module, "__file__", module), ", ".join(clashing)
                    )
                )

        def pick(name: str, default: Optional[Callable]) -> Optional[Callable]:
            return hooks[name] if hooks[name] is not None else default

        self._pre_model_fn = pick("pre_model_fn", getattr(handler, "default_pre_model_fn", None))
        self._model_fn = pick("model_fn", handler.default_model_fn)
        self._model_warmup_fn = pick(
            "model_warmup_fn", getattr(handler, "default_model_warmup_fn", None)
        )
        self._input_fn = pick("input_fn", handler.default_input_fn)
        self._predict_fn = pick("predict_fn", handler.default_predict_fn)
        self._predict_batch_fn = hooks["predict_batch_fn"]
        stacking = getattr(module, BATCH_STACKING_ATTRIBUTE, False) if module is not None else False
        if not isinstance(stacking, bool):
            raise TypeError(
                "{} in {} must be True or False, not {!r}".format(
                    BATCH_STACKING_ATTRIBUTE, getattr(module, "__file__", module), stacking
                )
            )
        self._batch_stacking = stacking
        self._output_fn = pick("output_fn", handler.default_output_fn)
        self._transform_fn = pick("transform_fn", self._default_transform_fn)

    def _prepare_request_path(self) -> None:
        """Checks hook signatures and precomputes what every request needs."""
        env = self._environment
        for name, arguments in HOOK_ARGUMENTS.items():
            hook = getattr(self, "_" + name, None)
            if hook is None:
                continue
            required, maximum = self._remember_arity(hook)
            if not (required <= len(arguments) + 1 and maximum >= len(arguments)):
                raise TypeError(
                    "{} must accept ({}) or ({}, context)".format(
                        _describe(hook), ", ".join(arguments), ", ".join(arguments)
                    )
                )
        self._remember_arity(self._default_transform_fn)
        self._hook_sizes = {}
        bound = [
            (getattr(self, "_" + name, None), len(args)) for name, args in HOOK_ARGUMENTS.items()
        ]
        bound.append((self._default_transform_fn, len(HOOK_ARGUMENTS["transform_fn"])))
        for hook, size in bound:
            if hook is None:
                continue
            try:
                self._hook_sizes.setdefault(hook, size)
                self._plans[(hook, size)] = self._plan_for(hook, size)
            except TypeError:  # unhashable callable: planned at call time
                pass
        self._return_traceback = env.return_traceback
        self._input_errors_are_400 = not env.input_fn_errors_as_500
        self._text_types = frozenset(t.lower() for t in content_types.UTF8_TYPES)

        default_pipeline = self._transform_fn == self._default_transform_fn and (
            type(self)._default_transform_fn is Transformer._default_transform_fn
        )
        if (self._predict_batch_fn is not None or self._batch_stacking) and not default_pipeline:
            raise ValueError(
                "predict_batch_fn and batch_stacking need the library's input_fn -> predict -> "
                "output_fn pipeline, which {} replaces with its own _default_transform_fn".format(
                    type(self).__name__
                )
            )
        library_input = (
            getattr(self._input_fn, "__func__", None) is DefaultInferenceHandler.default_input_fn
        )
        library_output = (
            getattr(self._output_fn, "__func__", None) is DefaultInferenceHandler.default_output_fn
        )
        # The library's own decoder takes bytes and honours the charset itself: no copy to str.
        self._decode_text = not (default_pipeline and library_input)
        default_accept = env.default_accept
        supported = tuple(encoder.SUPPORTED_CONTENT_TYPES)
        default_essence = mediatypes.parse_media_type(default_accept).essence

        def first_concrete(accept: Optional[str]) -> str:
            if accept is None or not accept.strip():
                return default_accept
            ranges = mediatypes.parse_accept(accept)
            for media_range in ranges:
                if media_range.type != "*" and media_range.subtype != "*":
                    return mediatypes.NegotiatedAccept(media_range.essence, accept)
            if not ranges or any(r.matches(default_essence) for r in ranges):
                return default_accept
            return ranges[0].essence

        if default_pipeline and library_output:

            def resolve(accept: Optional[str]) -> str:
                return mediatypes.negotiate(accept, supported, default_accept)

        elif library_output and self._transform_fn == self._default_transform_fn:
            # A subclass's own _default_transform_fn that may call the library's output_fn
            # (MXNet's does): the best type the encoder supports, or else the first concrete
            # type for the subclass to handle itself.
            def resolve(accept: Optional[str]) -> str:
                try:
                    return mediatypes.negotiate(accept, supported, default_accept)
                except errors.NotAcceptableError:
                    return first_concrete(accept)

        else:
            resolve = first_concrete

        self._resolve_accept = functools.lru_cache(maxsize=256)(resolve)
