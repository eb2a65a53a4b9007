"""Benchmark model: one linear layer, W of shape (32, 4), loaded from w.npy by model_fn.

Inputs with up to 32 columns use the first rows of W. An input with exactly SLOW_FEATURES
columns additionally burns SLOW_PREDICT_SECONDS of CPU, which gives the worker-scaling case a
predict whose cost is known without needing a second model.
"""

import os
import time

import numpy as np

SLOW_FEATURES = 24
SLOW_PREDICT_SECONDS = 0.002


def model_fn(model_dir):
    return np.load(os.path.join(model_dir, "w.npy"))


def _burn_cpu(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def predict_fn(data, model):
    x = np.asarray(data, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.shape[1] == SLOW_FEATURES:
        _burn_cpu(SLOW_PREDICT_SECONDS)
    return x @ model[: x.shape[1]]
