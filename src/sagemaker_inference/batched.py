"""The Transformer's batched path, used when the user module opts in to batched prediction.

With a ``predict_batch_fn`` hook, or ``batch_stacking = True`` in the user module, the
Transformer decodes every request of an MMS batch first, runs the model once for the batch (see
:mod:`.batching` for how inputs are stacked and predictions split), then encodes every answer.
:class:`BatchedPrediction` holds those steps; Transformer inherits them.
"""

import traceback
from typing import Any, Dict, List, Optional

from sagemaker_inference import batching
from sagemaker_inference import logging as sm_logging
from sagemaker_inference import request as request_module
from sagemaker_inference.request import Request

logger = sm_logging.get_logger()


class BatchedPrediction(object):
    """Mixin of :class:`~sagemaker_inference.transformer.Transformer`: ``_transform_batch``.

    Relies on the Transformer's hooks (``_input_fn``, ``_predict_fn``, ``_predict_batch_fn``,
    ``_output_fn``), ``_run_handler_function`` and its per-request steps (``_choose_accept``,
    ``_request_answer``, ``_request_failed``).
    """

    _warned_unsplittable = False

    def _transform_batch(self, context: Any, data: List[Any]) -> List[Any]:
        """Decode every request, predict once for the batch, encode every answer.

        Each request keeps its own headers, input_fn and output_fn call, content type, status
        and error: a request that fails to decode is answered alone and left out of the
        prediction. ``current_request()`` is None inside a call that spans several requests.
        """
        responses: List[Any] = [None] * len(data)
        requests = [Request(context, index, item) for index, item in enumerate(data)]
        accepts: Dict[int, str] = {}
        decoded: Dict[int, Any] = {}
        for request in requests:
            token = request_module.enter(request)
            try:
                accepts[request.index] = self._choose_accept(request.accept)
                body = request.text_body() if self._decode_text else request.body
                decoded[request.index] = self._run_handler_function(
                    self._input_fn, body, request.content_type, context
                )
            except Exception as exc:
                trace = traceback.format_exc()
                responses[request.index] = self._request_failed(context, request.index, exc, trace)
            finally:
                request_module.leave(token)
        indices = list(decoded)
        outcomes = self._predict_batch([requests[i] for i in indices], list(decoded.values()))
        for position, index in enumerate(indices):
            responses[index] = self._answer_outcome(requests[index], outcomes[position], accepts)
        return responses

    def _answer_outcome(self, request: Request, outcome: batching.Outcome, accepts: Dict) -> Any:
        ok, value, trace = outcome
        context, index = request.context, request.index
        token = request_module.enter(request)
        try:
            if not ok:
                return self._request_failed(context, index, value, trace)
            result = self._run_handler_function(self._output_fn, value, accepts[index], context)
            return self._request_answer(context, index, result, accepts[index])
        except Exception as exc:
            return self._request_failed(context, index, exc, traceback.format_exc())
        finally:
            request_module.leave(token)

    def _predict_batch(self, requests: List[Request], values: List[Any]) -> Dict[int, Any]:
        """Outcomes by position of ``values``: one predict_batch_fn call for all of them, or one
        predict_fn call per group of stackable arrays; a request whose prediction failed in
        the batch is predicted again alone, so only a bad request fails."""
        if not requests:
            return {}
        context = requests[0].context

        def alone(position: int) -> batching.Outcome:
            return self._predict_alone(requests[position], values[position])

        def predict_all(inputs: List[Any]) -> List[Any]:
            return self._call_batch_hook(inputs, context)

        def predict_stacked(stacked: Any) -> Any:
            return self._run_handler_function(self._predict_fn, stacked, self._model, context)

        if self._predict_batch_fn is not None:
            return batching.predict_with_batch_hook(values, predict_all, alone)
        return batching.predict_stacked(values, predict_stacked, alone, self._warn_unsplittable)

    def _predict_alone(self, request: Request, value: Any) -> batching.Outcome:
        token = request_module.enter(request)
        try:
            if self._predict_batch_fn is not None:
                return batching.outcome_of(self._call_batch_hook, [value], request.context, 0)
            return batching.outcome_of(
                self._run_handler_function, self._predict_fn, value, self._model, request.context
            )
        finally:
            request_module.leave(token)

    def _call_batch_hook(self, inputs: List[Any], context: Any, item: Optional[int] = None) -> Any:
        """predict_batch_fn's predictions for ``inputs`` (only prediction ``item`` if given)."""
        predictions = self._run_handler_function(
            self._predict_batch_fn, inputs, self._model, context
        )
        predictions = batching.checked_predictions(predictions, len(inputs))
        return predictions if item is None else predictions[item]

    def _warn_unsplittable(self, prediction: Any, rows: int) -> None:
        if self._warned_unsplittable:
            return
        self._warned_unsplittable = True
        logger.warning(
            "predict_fn returned a %s that does not have one row per input row (%d); "
            "the batch is predicted request by request (define predict_batch_fn "
            "for models whose predictions are not row-aligned)",
            type(prediction).__name__,
            rows,
        )
