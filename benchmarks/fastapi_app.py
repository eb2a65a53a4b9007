"""FastAPI peer: /ping and /invocations over the benchmark model, as a bring-your-own container.

benchmarks/peers.py runs it as ``uvicorn fastapi_app:app --workers N`` with the model's code
directory (SAGEMAKER_BASE_DIR/model/code) and benchmarks/ on PYTHONPATH. The endpoint is async:
the model's work is small, and a thread-pool hop per request would only add to it.
"""

import os

import inference  # benchmarks/model_code/inference.py, copied into the model directory
import peer_codec
from fastapi import FastAPI, Request, Response

MODEL_DIR = os.path.join(os.environ.get("SAGEMAKER_BASE_DIR", "/opt/ml"), "model")
MODEL = inference.model_fn(MODEL_DIR)

app = FastAPI()


@app.get("/ping")
async def ping() -> Response:
    return Response(status_code=200)


@app.post("/invocations")
async def invocations(request: Request) -> Response:
    body = await request.body()
    try:
        data = peer_codec.decode(body, request.headers.get("content-type"))
    except ValueError as exc:
        return Response(str(exc), status_code=415)
    accept = peer_codec.media_type(request.headers.get("accept"))
    if accept == "*/*":
        accept = peer_codec.JSON
    prediction = inference.predict_fn(data, MODEL)
    return Response(peer_codec.encode(prediction, accept), media_type=accept)
