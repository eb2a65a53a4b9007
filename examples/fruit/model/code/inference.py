"""Serving code for the example fruit classifier (trained by examples/fruit/train.py).

Request: one row of four numbers per fruit, in the order
    weight_g, diameter_cm, sugar_brix, skin_roughness
as JSON (``[[182, 7.4, 12.9, 0.2]]``), CSV (``182,7.4,12.9,0.2``, one fruit per line) or NPY.

Response: JSON by default, one object per fruit,
    [{"label": "apple", "probabilities": {"apple": 0.98, "orange": 0.01, "lemon": 0.01}}]
or, with ``Accept: text/csv``, one label per line.
"""

import json
import os

import numpy as np

from sagemaker_inference import decoder, errors


def model_fn(model_dir):
    """Load the artifact once per worker; the return value is passed to predict_fn."""
    with np.load(os.path.join(model_dir, "model.npz")) as artifact:
        return {name: artifact[name] for name in artifact.files}


def input_fn(input_data, content_type):
    """Turn the request body into a float array of shape (fruits, 4)."""
    rows = np.atleast_2d(decoder.decode(input_data, content_type)).astype(float)
    if rows.ndim != 2 or rows.shape[1] != 4:
        raise errors.BadRequestError(
            "expected rows of 4 numbers (weight_g, diameter_cm, sugar_brix, skin_roughness), "
            "got an array of shape %s" % (rows.shape,)
        )
    return rows


def predict_fn(rows, model):
    """Softmax regression: class probabilities for every row."""
    logits = (rows - model["mean"]) / model["scale"] @ model["weights"] + model["bias"]
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = exp / exp.sum(axis=1, keepdims=True)
    return {"classes": model["classes"].tolist(), "probabilities": probabilities}


def output_fn(prediction, accept):
    """Serialise for the negotiated Accept type; returns (body, content_type)."""
    classes = prediction["classes"]
    labels = [classes[i] for i in prediction["probabilities"].argmax(axis=1)]
    if accept == "text/csv":
        return "".join(label + "\n" for label in labels), "text/csv"
    if accept not in ("application/json", "*/*"):
        raise errors.NotAcceptableError(accept, ("application/json", "text/csv"))
    answer = [
        {"label": label, "probabilities": dict(zip(classes, np.round(row, 4).tolist()))}
        for label, row in zip(labels, prediction["probabilities"])
    ]
    return json.dumps(answer), "application/json"
