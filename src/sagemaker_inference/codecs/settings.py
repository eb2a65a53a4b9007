"""The environment variables the built-in codecs honour, read on every call (tests change them).

* ``SAGEMAKER_ALLOW_PICKLE=true``: NPY/NPZ bodies and predictions holding Python objects may be
  (un)pickled. Never set it for untrusted callers.
* ``SAGEMAKER_ALLOW_JSON_NAN=true``: JSON bodies may hold ``NaN``/``Infinity`` (1.10.1 did).
* ``SAGEMAKER_MAX_DECODED_BYTES`` (default 536870912): how large an NPZ archive may expand.
"""

from sagemaker_inference import environment, parameters

ALLOW_PICKLE_ENV = parameters.ALLOW_PICKLE_ENV
ALLOW_JSON_NAN_ENV = parameters.ALLOW_JSON_NAN_ENV
MAX_DECODED_BYTES_ENV = parameters.MAX_DECODED_BYTES_ENV
DEFAULT_MAX_DECODED_BYTES = environment.DEFAULT_MAX_DECODED_BYTES


def allow_pickle() -> bool:
    return environment.read_setting("allow_pickle", strict=False)


def allow_json_nan() -> bool:
    return environment.read_setting("allow_json_nan", strict=False)


def max_decoded_bytes() -> int:
    """``SAGEMAKER_MAX_DECODED_BYTES`` as a positive int; the default when unset or invalid."""
    return environment.read_setting("max_decoded_bytes", strict=False)
