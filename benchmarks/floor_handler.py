"""The floor: a minimal MMS handler with no toolkit, decoding and encoding with numpy directly.

MMS calls handle(None, context) once when the worker loads, then handle(batch, context) per batch.
It supports exactly the three bodies the benchmark sends (JSON, CSV, NPY) and answers in the
media type named by Accept (the benchmark always sends one of the same three).
"""

import importlib
import io
import json
import os
import sys

import numpy as np

_state = {}


def _header(headers, name):
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if key.lower() == lowered:
                return candidate
    return value


def _decode(body, content_type):
    if content_type == "application/json":
        return np.array(json.loads(body))
    if content_type == "text/csv":
        text = body.decode("utf-8").strip()
        rows = text.count("\n") + 1
        return np.fromstring(text.replace("\n", ","), dtype=np.float64, sep=",").reshape(rows, -1)
    if content_type == "application/x-npy":
        header = io.BytesIO(body[:1024])
        np.lib.format.read_magic(header)
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(header)
        array = np.frombuffer(body, dtype=dtype, offset=header.tell())
        return array.reshape(shape, order="F" if fortran else "C")
    raise ValueError("unsupported content type " + content_type)


def _encode(array, accept):
    if accept == "text/csv":
        return "\n".join(",".join(map(repr, row)) for row in array.tolist())
    if accept == "application/x-npy":
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue()
    return json.dumps(array.tolist())


def _initialize(context):
    model_dir = context.system_properties["model_dir"]
    sys.path.insert(0, os.path.join(model_dir, "code"))
    user_module = importlib.import_module("inference")
    _state["predict"] = user_module.predict_fn
    _state["model"] = user_module.model_fn(model_dir)


def handle(data, context):
    if data is None:
        _initialize(context)
        return None
    predict = _state["predict"]
    model = _state["model"]
    answers = []
    for index, request in enumerate(data):
        headers = context.request_processor[index].get_request_properties()
        content_type = _header(headers, "Content-Type") or "application/json"
        accept = _header(headers, "Accept") or "application/json"
        prediction = predict(_decode(request["body"], content_type), model)
        answers.append(_encode(prediction, accept))
        context.set_response_content_type(index, accept)
    return answers
