"""The environment variables the built-in codecs honour, read on every call (tests change them).

* ``SAGEMAKER_ALLOW_PICKLE=true``: NPY/NPZ bodies and predictions holding Python objects may be
  (un)pickled. Never set it for untrusted callers.
* ``SAGEMAKER_ALLOW_JSON_NAN=true``: JSON bodies may hold ``NaN``/``Infinity`` (1.10.1 did).
* ``SAGEMAKER_MAX_DECODED_BYTES`` (default 536870912): how large an NPZ archive may expand.
"""

import os

from sagemaker_inference import environment, parameters

ALLOW_PICKLE_ENV = parameters.ALLOW_PICKLE_ENV
ALLOW_JSON_NAN_ENV = parameters.ALLOW_JSON_NAN_ENV
MAX_DECODED_BYTES_ENV = "SAGEMAKER_MAX_DECODED_BYTES"
DEFAULT_MAX_DECODED_BYTES = 512 * 1024 * 1024


def allow_pickle() -> bool:
    return environment.flag(ALLOW_PICKLE_ENV)


def allow_json_nan() -> bool:
    return environment.flag(ALLOW_JSON_NAN_ENV)


def max_decoded_bytes() -> int:
    """``SAGEMAKER_MAX_DECODED_BYTES`` as a positive int; the default when unset or invalid."""
    raw = os.environ.get(MAX_DECODED_BYTES_ENV, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_MAX_DECODED_BYTES
    except ValueError:
        return DEFAULT_MAX_DECODED_BYTES
    return value if value > 0 else DEFAULT_MAX_DECODED_BYTES
