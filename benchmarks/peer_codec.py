"""What a hand-written server does with the benchmark bodies: JSON or NPY in, the same out.

Used by the peers (FastAPI, TorchServe, MLServer) so each does the same decode/predict/encode
as this project: JSON through orjson when it is installed (the stdlib otherwise), NPY through
numpy without pickle. Only the formats the peers are measured with are handled.
"""

import io
import json

import numpy as np

try:
    import orjson
except ImportError:  # pragma: no cover - every peer venv installs it
    orjson = None

JSON = "application/json"
NPY = "application/x-npy"


def media_type(header) -> str:
    """The lower-cased media type of a Content-Type or Accept value, parameters dropped."""
    if isinstance(header, (bytes, bytearray)):
        header = header.decode("latin-1")
    return (header or JSON).split(";", 1)[0].strip().lower()


def decode(body: bytes, content_type: str) -> np.ndarray:
    """The request body as an array; ValueError for a media type the peers do not serve."""
    kind = media_type(content_type)
    if kind == JSON:
        return np.array(orjson.loads(body) if orjson else json.loads(body))
    if kind == NPY:
        return np.load(io.BytesIO(bytes(body)), allow_pickle=False)
    raise ValueError("unsupported content type %r" % kind)


def encode(array: np.ndarray, accept: str) -> bytes:
    """The prediction in the requested media type (JSON for */*)."""
    kind = media_type(accept)
    if kind == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()
    array = np.ascontiguousarray(array)
    if orjson is not None:
        return orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(array.tolist()).encode()
