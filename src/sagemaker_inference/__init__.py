"""Serve a model plus a user's ``inference.py`` under SageMaker's hosting contract."""

from typing import Any

__version__ = "2.0.0.dev0"

# Public names of sagemaker_inference.codecs, imported on first use: the codecs need numpy,
# which the command line (python -m sagemaker_inference) does not otherwise import.
_CODEC_NAMES = ("Codec", "register_codec", "unregister_codec")


def __getattr__(name: str) -> Any:
    if name in _CODEC_NAMES:
        from sagemaker_inference import codecs

        return getattr(codecs, name)
    raise AttributeError("module 'sagemaker_inference' has no attribute %r" % name)
