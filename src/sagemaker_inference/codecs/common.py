"""What every built-in codec shares: body checks, charsets, error wording, sparse matrices."""

import codecs
import functools
from typing import Any, Optional

import numpy as np

from sagemaker_inference import utils
from sagemaker_inference.errors import BadRequestError, echo

MAX_REASON = 300


def reason(exc: BaseException) -> str:
    """``exc``'s message on one line, bounded, for quoting in a 400 answer."""
    text = utils.one_line(exc) or type(exc).__name__
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + "..."


def as_bad_request(exc: Exception, what: str) -> BadRequestError:
    """The 400 that answers a body of kind ``what`` on which a decoder failed with ``exc``."""
    if isinstance(exc, RecursionError):
        return BadRequestError("Invalid %s body: nested too deeply" % what)
    return BadRequestError("Invalid %s body: %s: %s" % (what, type(exc).__name__, reason(exc)))


@functools.lru_cache(maxsize=64)
def python_codec(charset: str) -> str:
    """The Python codec name for a Content-Type charset (UTF-8 skips a BOM); 400 when unknown."""
    try:
        info = codecs.lookup(charset)
    except LookupError:
        raise BadRequestError("Unknown charset %s" % echo(charset)) from None
    if not getattr(info, "_is_text_encoding", True):
        raise BadRequestError("Charset %s is not a text encoding" % echo(charset))
    return "utf-8-sig" if info.name == "utf-8" else info.name


def is_utf8(charset: Optional[str]) -> bool:
    return charset is None or python_codec(charset) == "utf-8-sig"


def check_buffer(data: Any, what: str) -> None:
    """400 unless ``data`` is a non-empty bytes-like object or str."""
    if not isinstance(data, (bytes, bytearray, memoryview, str)):
        raise BadRequestError("%s body must be bytes or str, not %s" % (what, type(data).__name__))
    if len(data) == 0:
        raise BadRequestError("Empty %s body" % what)


def to_text(data: Any, charset: Optional[str]) -> str:
    """``data`` as str, decoded with ``charset`` (utf-8 when None); 400 for invalid bytes."""
    if isinstance(data, str):
        return data
    codec = python_codec(charset or "utf-8")
    try:
        return str(data, codec)
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            "Body is not valid %s text: %s at byte %d" % (charset or "utf-8", exc.reason, exc.start)
        ) from None


def to_array(value: Any, dtype: Any, what: str) -> np.ndarray:
    """``np.array(value, dtype)``, or a 400 naming ``what`` when the value has no array shape."""
    try:
        return np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadRequestError("%s body does not fit a numpy array: %s" % (what, reason(exc)))


def is_sparse(obj: Any) -> bool:
    """Whether ``obj`` is a scipy sparse matrix (told without importing scipy)."""
    return type(obj).__module__.startswith("scipy.sparse") and hasattr(obj, "toarray")


def dense(obj: Any) -> Any:
    """``obj``, with a scipy sparse matrix made a dense array."""
    return obj.toarray() if is_sparse(obj) else obj
