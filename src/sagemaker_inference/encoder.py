"""Prediction -> response body, by media type: the encoding side of the codecs.

The codecs live in :mod:`sagemaker_inference.codecs` (JSON, CSV and JSON Lines give str; NPY
and NPZ bytes; see each codec module for the exact text); this module keeps 1.10.1's names.
``_encoder_map`` is a live ``{essence: function(value)}`` view of the registry: assigning to it
serves a media type, as in 1.10.1.
"""

from typing import Any, Optional

from sagemaker_inference import codecs
from sagemaker_inference.codecs import registry
from sagemaker_inference.codecs.csv_codec import encode_csv as _array_to_csv
from sagemaker_inference.codecs.json_codec import encode_json as _array_to_json
from sagemaker_inference.codecs.json_codec import encode_jsonlines as _array_to_jsonlines
from sagemaker_inference.codecs.npy_codec import encode_npy as _array_to_npy
from sagemaker_inference.codecs.npy_codec import encode_npz as _array_to_npz
from sagemaker_inference.errors import BadRequestError, NotAcceptableError
from sagemaker_inference.mediatypes import parse_media_type

__all__ = [
    "encode",
    "SUPPORTED_CONTENT_TYPES",
    "_array_to_csv",
    "_array_to_json",
    "_array_to_jsonlines",
    "_array_to_npy",
    "_array_to_npz",
    "_encoder_map",
]

_encoder_map = registry.encoder_map
SUPPORTED_CONTENT_TYPES = codecs.encodable_types()


def encode(array_like: Any, content_type: Optional[str]) -> Any:
    """Serialise a prediction for a media type (parameters and case ignored).

    Raises NotAcceptableError (406, an UnsupportedFormatError) when there is no encoder for it.
    A ``mediatypes.ContentType`` (what the Accept policy gives the library's output_fn) is not
    parsed again.
    """
    media_type = getattr(content_type, "media_type", None)  # parsed already (a ContentType)
    if media_type is None:
        if not isinstance(content_type, str) or not content_type.strip():
            raise NotAcceptableError(content_type, SUPPORTED_CONTENT_TYPES)
        try:
            media_type = parse_media_type(content_type)
        except BadRequestError:
            raise NotAcceptableError(content_type, SUPPORTED_CONTENT_TYPES) from None
    codec = registry.encoder_for(media_type.essence)
    if codec is None:
        raise NotAcceptableError(content_type, SUPPORTED_CONTENT_TYPES)
    return codec.encode(array_like, media_type)
