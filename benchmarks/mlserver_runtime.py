"""MLServer peer: a custom runtime with /invocations and /ping as custom REST endpoints.

MLServer's own protocol is V2 (/v2/models/<name>/infer); the SageMaker routes are added with
``mlserver.handlers.custom_handler``. With ``parallel_workers`` > 0 MLServer runs the handlers in
its worker processes and pickles their arguments, so the raw body and the two headers reach the
handler as one tuple read by a FastAPI dependency in the front process.
"""

import os

import inference  # benchmarks/model_code/inference.py, copied into the model directory
import peer_codec
from fastapi import Depends, Request, Response
from mlserver import MLModel
from mlserver.handlers import custom_handler


async def _raw_request(request: Request) -> tuple:
    body = await request.body()
    return body, request.headers.get("content-type"), request.headers.get("accept")


class BenchmarkRuntime(MLModel):
    """Loads the benchmark model with its model_fn and serves it like the other stacks."""

    async def load(self) -> bool:
        uri = self.settings.parameters.uri if self.settings.parameters else None
        self._model = inference.model_fn(uri or os.environ["SAGEMAKER_BENCH_MODEL_DIR"])
        return True

    @custom_handler(rest_path="/ping", rest_method="GET")
    async def ping(self) -> Response:
        return Response(status_code=200)

    @custom_handler(rest_path="/invocations", rest_method="POST")
    async def invocations(self, raw: tuple = Depends(_raw_request)) -> Response:
        body, content_type, accept = raw
        try:
            data = peer_codec.decode(body, content_type)
        except ValueError as exc:
            return Response(str(exc), status_code=415)
        accept = peer_codec.media_type(accept)
        if accept == "*/*":
            accept = peer_codec.JSON
        prediction = inference.predict_fn(data, self._model)
        return Response(peer_codec.encode(prediction, accept), media_type=accept)
