"""Request body -> value, by the Content-Type's media type: the decoding side of the codecs.

The codecs themselves live in :mod:`sagemaker_inference.codecs` (one module per family, see
there for what each media type decodes to); this module keeps 1.10.1's names. Bad input raises
BadRequestError (400) with a one-line reason; a missing or unknown media type raises
UnsupportedFormatError (415). No other exception leaves :func:`decode`.

``_decoder_map`` is a live ``{essence: function}`` view of the registry: assigning a function
``f(body)`` or ``f(body, charset)`` to a media type serves it, as in 1.10.1.
"""

from typing import Any, Optional

from sagemaker_inference import codecs
from sagemaker_inference.codecs import common, registry, settings
from sagemaker_inference.codecs.csv_codec import decode_csv
from sagemaker_inference.codecs.json_codec import decode_json, decode_jsonlines
from sagemaker_inference.codecs.npy_codec import decode_npy, decode_npz
from sagemaker_inference.errors import BadRequestError, UnsupportedFormatError
from sagemaker_inference.mediatypes import parse_media_type

ALLOW_PICKLE_ENV = settings.ALLOW_PICKLE_ENV
ALLOW_JSON_NAN_ENV = settings.ALLOW_JSON_NAN_ENV
MAX_DECODED_BYTES_ENV = settings.MAX_DECODED_BYTES_ENV
DEFAULT_MAX_DECODED_BYTES = settings.DEFAULT_MAX_DECODED_BYTES
allow_pickle = settings.allow_pickle
allow_json_nan = settings.allow_json_nan
max_decoded_bytes = settings.max_decoded_bytes

_decoder_map = registry.decoder_map
SUPPORTED_CONTENT_TYPES = codecs.decodable_types()


def _bad_input(what: str, function: Any, *args: Any) -> Any:
    """``function(*args)``, with any failure other than the toolkit's own made a 400."""
    try:
        return function(*args)
    except (BadRequestError, UnsupportedFormatError):
        raise
    except Exception as exc:  # any failure here is the body's fault: answer 400
        raise common.as_bad_request(exc, what) from exc


# The 1.10.1 names, with their signatures; each raises only BadRequestError for bad input.


def _json_to_numpy(string_like: Any, dtype: Any = None, charset: Optional[str] = None) -> Any:
    return _bad_input("JSON", decode_json, string_like, charset, dtype)


def _csv_to_numpy(string_like: Any, dtype: Any = None, charset: Optional[str] = None) -> Any:
    return _bad_input("CSV", decode_csv, string_like, charset, dtype)


def _jsonlines_to_numpy(string_like: Any, dtype: Any = None, charset: Optional[str] = None) -> Any:
    return _bad_input("JSON Lines", decode_jsonlines, string_like, charset, dtype)


def _npy_to_numpy(npy_array: Any) -> Any:
    return _bad_input("NPY", decode_npy, npy_array)


def _npz_to_sparse(npz_bytes: Any) -> Any:
    return _bad_input("NPZ", decode_npz, npz_bytes)


def _no_content_type(content_type: Any) -> UnsupportedFormatError:
    return UnsupportedFormatError(
        content_type,
        message="The request has no Content-Type. Supported types: {}. Implement input_fn "
        "to deserialize other request data.".format(", ".join(SUPPORTED_CONTENT_TYPES)),
    )


def decode(obj: Any, content_type: Optional[str]) -> Any:
    """Decode a request body of the given Content-Type value (parameters allowed).

    Raises UnsupportedFormatError for a missing Content-Type or a media type without a decoder
    and BadRequestError for a malformed Content-Type or body. A content type the Transformer
    parsed already (a ``mediatypes.ContentType``) is not parsed again.
    """
    if content_type is None or content_type == "":
        raise _no_content_type(content_type)
    if not isinstance(content_type, str):
        raise UnsupportedFormatError(content_type)
    media_type = getattr(content_type, "media_type", None)
    if media_type is None:
        media_type = parse_media_type(content_type)
    codec = registry.decoder_for(media_type.essence)
    if codec is None:
        raise UnsupportedFormatError(content_type)
    try:
        return codec.decode(obj, media_type)
    except (BadRequestError, UnsupportedFormatError):
        raise
    except Exception as exc:  # any failure here is the body's fault: answer 400
        raise common.as_bad_request(exc, media_type.essence) from exc
