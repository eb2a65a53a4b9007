"""Runs the user's hooks for every request of an MMS batch.

``validate_and_initialize`` does, once, everything that does not depend on the request: it
imports the user module and binds its hooks (:mod:`.user_module`), checks their signatures,
picks the Accept policy (:mod:`.accept`) and loads the model. ``transform`` then answers each
request of the batch on its own: it reads the request (:class:`.request.Request`), chooses the
``accept`` the hooks get, runs ``transform_fn`` (by default input_fn -> predict_fn ->
output_fn), and sets the response's content type, or the status that :func:`errors.
describe_error` gives for its error.

When the user opts in to batched prediction (a ``predict_batch_fn`` hook, or
``batch_stacking = True`` in the user module), ``transform`` decodes every request of the batch
first, runs the model once for the batch, then encodes every answer: see ``_transform_batch``.
"""

import inspect
import threading
import traceback
from types import ModuleType
from typing import Any, Callable, List, Optional

from sagemaker_inference import accept as accept_policy
from sagemaker_inference import encoder, environment, errors, hooks
from sagemaker_inference import logging as sm_logging
from sagemaker_inference import request as request_module
from sagemaker_inference import user_module
from sagemaker_inference.batched import BatchedPrediction
from sagemaker_inference.default_inference_handler import DefaultInferenceHandler
from sagemaker_inference.errors import MAX_PHRASE_LENGTH, describe_error  # noqa: F401
from sagemaker_inference.request import Request, current_request  # noqa: F401
from sagemaker_inference.user_module import (  # noqa: F401
    BATCH_STACKING_ATTRIBUTE,
    HOOK_ARGUMENTS,
    import_user_module,
)

logger = sm_logging.get_logger()

ERROR_CONTENT_TYPE = "text/plain; charset=utf-8"
RequestView = Request  # the name current_request()'s class had before request.py


class Transformer(BatchedPrediction):
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
        self._hooks = hooks.HookCaller()
        self._context: Any = None
        self._input_errors_are_400 = True
        self._accept_policy: Optional[accept_policy.AcceptPolicy] = None
        # accept_header -> the accept the hooks get; the policy's, once _prepare_request_path ran.
        self._choose_accept: Callable[[Optional[str]], str] = _accept_as_sent
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
        request = Request(context, index, item)
        token = request_module.enter(request)
        try:
            accept = self._choose_accept(request.accept)
            body = request.text_body() if self._decode_text else request.body
            result = self._run_handler_function(
                self._transform_fn, self._model, body, request.content_type, accept, context
            )
            return self._request_answer(context, index, result, accept)
        except Exception as exc:
            return self._request_failed(context, index, exc, traceback.format_exc())
        finally:
            request_module.leave(token)

    def _request_answer(self, context: Any, index: int, result: Any, accept: str) -> Any:
        """The body MMS sends for request ``index``; sets its content type from ``result``
        (``(body, content_type)``, or a bare body answered as ``accept``)."""
        if isinstance(result, tuple):
            response, response_content_type = result[0], result[1]
        else:
            response, response_content_type = result, accept
        response = request_module.wire_value(response)
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

    def _is_input_fn_error(self, exc: BaseException) -> bool:
        """An error the input_fn raised reading the body: ValueError (JSONDecodeError,
        UnicodeDecodeError...), KeyError or TypeError, other than the toolkit's own errors."""
        if not isinstance(exc, (ValueError, KeyError, TypeError)):
            return False
        if isinstance(exc, (errors.BaseInferenceToolkitError, errors.UnsupportedFormatError)):
            return False
        return user_module.raised_in(exc, self._input_fn)

    # ---- calling hooks -----------------------------------------------------------------------

    def _default_transform_fn(
        self, model: Any, input_data: Any, content_type: Optional[str], accept: str, context=None
    ) -> Any:
        data = self._run_handler_function(self._input_fn, input_data, content_type, context)
        prediction = self._run_handler_function(self._predict_fn, data, model, context)
        return self._run_handler_function(self._output_fn, prediction, accept, context)

    # The library's input_fn -> predict_fn -> output_fn pipeline; an override is not marked.
    _default_transform_fn.library_pipeline = True  # type: ignore[attr-defined]

    def _run_handler_function(self, func: Callable, *argv: Any) -> Any:
        """Call hook ``func`` with ``argv``, giving it the context as its signature says:
        ``argv`` may end with the context (``func(data, model, context)``) or, as in 1.10.1,
        hold only the hook's own arguments (see ``hooks.HookCaller.call``)."""
        request = request_module.CURRENT_REQUEST.get()
        context = request.context if request is not None else self._context
        return self._hooks.call(func, argv, context)

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
        status, phrase, message = errors.describe_error(inference_exception)
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

    def use_environment(self, env: environment.Environment) -> None:
        """Load with the settings ``env`` (the handler service's reading at initialize) instead
        of reading the environment again."""
        self._environment = env

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
            if self._environment is None:
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
        """Import the user module and bind each hook: the user's, else the handler's default."""
        handler = self._default_inference_handler
        module = user_module.import_user_module(self._environment.module_name, self._model_dir)
        self._user_module = module
        hooks = user_module.find_hooks(module)
        defaults = {
            "pre_model_fn": getattr(handler, "default_pre_model_fn", None),
            "model_fn": handler.default_model_fn,
            "model_warmup_fn": getattr(handler, "default_model_warmup_fn", None),
            "input_fn": handler.default_input_fn,
            "predict_fn": handler.default_predict_fn,
            "predict_batch_fn": None,
            "output_fn": handler.default_output_fn,
            "transform_fn": self._default_transform_fn,
        }
        for name, default in defaults.items():
            setattr(self, "_" + name, hooks[name] if hooks[name] is not None else default)
        self._batch_stacking = user_module.batch_stacking(module)

    def _prepare_request_path(self) -> None:
        """Check the bound hooks' signatures and settle what every request needs: how each
        hook takes the context, the Accept policy, and whether text bodies become str."""
        bound = {name: getattr(self, "_" + name, None) for name in HOOK_ARGUMENTS}
        self._hooks.bind(bound, self._default_transform_fn)
        env = self._environment
        self._return_traceback = env.return_traceback
        self._input_errors_are_400 = not env.input_fn_errors_as_500
        library_pipeline = self._transform_fn == self._default_transform_fn and getattr(
            self._default_transform_fn, "library_pipeline", False
        )
        if (self._predict_batch_fn is not None or self._batch_stacking) and not library_pipeline:
            raise ValueError(
                "predict_batch_fn and batch_stacking need the library's input_fn -> predict -> "
                "output_fn pipeline, which {} replaces with its own _default_transform_fn".format(
                    type(self).__name__
                )
            )
        raw_input = getattr(self._input_fn, "takes_raw_body", False)
        self._decode_text = not (library_pipeline and raw_input)
        self._accept_policy = accept_policy.AcceptPolicy(
            self._accept_policy_kind(library_pipeline),
            env.default_accept,
            encoder.SUPPORTED_CONTENT_TYPES,
        )
        self._choose_accept = self._accept_policy.choose

    def _accept_policy_kind(self, library_pipeline: bool) -> str:
        if not getattr(self._output_fn, "encodes_with_codecs", False):
            return accept_policy.FIRST_CONCRETE  # the user's output_fn encodes
        if library_pipeline:
            return accept_policy.ENCODER
        if self._transform_fn == self._default_transform_fn:
            return accept_policy.ENCODER_OR_FIRST  # a subclass's own pipeline
        return accept_policy.FIRST_CONCRETE  # the user's transform_fn


def _accept_as_sent(accept: Optional[str]) -> str:
    """The Accept header unchanged: for subclasses that load without _prepare_request_path."""
    return accept or ""
