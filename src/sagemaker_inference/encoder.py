"""Prediction -> response body by media type essence (JSON, CSV, JSON Lines: str; NPY, NPZ: bytes).

* JSON: the text 1.10.1 produced (``json.dumps`` with ``", "`` separators, numpy arrays and
  scalars through ``tolist()``, scipy sparse matrices as dense lists). NaN and infinities are
  written as the literals ``NaN``/``Infinity``/``-Infinity`` like Python's json module (and
  1.10.1) do; the decoder reads them back. With the optional ``orjson`` installed, numeric
  arrays are serialised by it: the same text except that a float may be spelled differently
  (``1e-05`` vs ``0.00001``), always parsing back to the same value.
* CSV: a 1-D prediction is one value per line, a 2-D prediction one row per line, a scalar one
  line; every line ends with ``\\n``. Values are written like ``numpy.savetxt(fmt="%s")``.
* JSON Lines: one JSON document per element of the first axis (per item of a list), each
  followed by ``\\n``; a dict or scalar is one line.
* NPY: ``numpy.save``'s bytes. Arrays of Python objects need ``SAGEMAKER_ALLOW_PICKLE=true``.
* NPZ: ``scipy.sparse.save_npz`` of the sparse matrix (a dense array is stored as CSR).
"""

import io
import json
from typing import Any, Callable, Dict, Optional

import numpy as np

from sagemaker_inference import content_types, utils
from sagemaker_inference.decoder import ALLOW_PICKLE_ENV, allow_pickle
from sagemaker_inference.errors import BadRequestError, NotAcceptableError
from sagemaker_inference.mediatypes import parse_media_type

# dtypes whose JSON/CSV text Python's repr() of .tolist() gets right, and orjson can serialise.
_ORJSON_DTYPES = frozenset(
    np.dtype(name)
    for name in (
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool",
    )
)

# Float arrays up to this many values are checked for NaN/infinity in orjson's text.
_SEARCH_TEXT_MAX_SIZE = 32768

# orjson spells booleans true/false where numpy.savetxt writes True/False.
_CSV_ORJSON_DTYPES = _ORJSON_DTYPES - {np.dtype(bool)}


def _is_sparse(obj: Any) -> bool:
    return type(obj).__module__.startswith("scipy.sparse") and hasattr(obj, "toarray")


def _dense(obj: Any) -> Any:
    return obj.toarray() if _is_sparse(obj) else obj


def _json_default(obj: Any) -> Any:
    if _is_sparse(obj):
        return obj.toarray().tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


def _orjson_numeric(array: np.ndarray) -> Optional[bytes]:
    """Compact JSON of a finite numeric array through orjson, or None when it cannot be used.

    orjson writes NaN and infinities as ``null``, the only letter ``n`` a numeric array's text
    can hold: finding it in the text is cheaper than np.isfinite, except for large arrays.
    """
    orjson = utils.optional_orjson()
    if orjson is None or array.ndim == 0 or array.size == 0:
        return None
    if array.dtype == np.float32:
        array = array.astype(np.float64)  # the stdlib writes float32 values at float64 precision
    elif array.dtype not in _ORJSON_DTYPES:
        return None
    is_float = array.dtype.kind == "f"
    if is_float and array.size > _SEARCH_TEXT_MAX_SIZE and not np.isfinite(array).all():
        return None  # keep the stdlib's NaN/Infinity literals
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    try:
        text = orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if is_float and array.size <= _SEARCH_TEXT_MAX_SIZE and b"n" in text:
        return None  # a null: keep the stdlib's NaN/Infinity literals
    return text


def _array_to_json(array_like: Any) -> str:
    if isinstance(array_like, np.ndarray):
        compact = _orjson_numeric(array_like)
        if compact is not None:
            # Numeric arrays hold no strings, so every comma separates: match json.dumps' ", ".
            return compact.replace(b",", b", ").decode("ascii")
    return json.dumps(array_like, default=_json_default)


def _is_plain_numeric(array: np.ndarray) -> bool:
    return array.dtype in _ORJSON_DTYPES or array.dtype == np.float32


def _array_to_jsonlines(array_like: Any) -> str:
    obj = _dense(array_like)
    if isinstance(obj, np.ndarray) and obj.ndim >= 1 and obj.size and _is_plain_numeric(obj):
        # Split the array's JSON text between the items of the first axis: numeric text holds
        # no brackets or commas of its own, so the separator is unambiguous.
        text = _array_to_json(obj)[1:-1]
        depth = obj.ndim - 1
        separator = "]" * depth + ", " + "[" * depth
        return text.replace(separator, "]" * depth + "\n" + "[" * depth) + "\n"
    if isinstance(obj, np.ndarray) and obj.ndim >= 1:
        items = list(obj)
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    else:
        items = [obj]
    return "".join(_array_to_json(item) + "\n" for item in items)


def _array_to_csv(array_like: Any) -> str:
    array = np.asarray(_dense(array_like))
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim > 2:
        raise ValueError("CSV holds 1-D or 2-D data; the prediction has shape %s" % (array.shape,))
    if array.size and array.dtype in _CSV_ORJSON_DTYPES:
        compact = _orjson_numeric(array)
        if compact is not None:
            if array.ndim == 1:
                return (compact[1:-1].replace(b",", b"\n") + b"\n").decode("ascii")
            return (compact[2:-2].replace(b"],[", b"\n") + b"\n").decode("ascii")
    if array.size and array.dtype in _ORJSON_DTYPES:
        # repr() of the nested list is C-speed and writes each value as numpy's str() does.
        if array.ndim == 1:
            return repr(array.tolist())[1:-1].replace(", ", "\n") + "\n"
        return repr(array.tolist())[2:-2].replace("], [", "\n").replace(", ", ",") + "\n"
    stream = io.StringIO()
    np.savetxt(stream, array, delimiter=",", fmt="%s")
    return stream.getvalue()


def _array_to_npy(array_like: Any) -> bytes:
    array = np.asanyarray(_dense(array_like))
    if array.dtype.hasobject:
        if not allow_pickle():
            raise ValueError(
                "NPY of Python objects needs pickle; set %s=true to allow it" % ALLOW_PICKLE_ENV
            )
    else:
        body = _npy_bytes(array)
        if body is not None:
            return body
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _npy_bytes(array: np.ndarray) -> Optional[bytes]:
    """numpy.save's output built with a single copy of the data, or None to let numpy do it."""
    fmt = np.lib.format
    try:
        header_data = fmt.header_data_from_array_1_0(array)
        header = io.BytesIO()
        try:
            fmt.write_array_header_1_0(header, header_data)
        except ValueError:
            header = io.BytesIO()
            fmt.write_array_header_2_0(header, header_data)
        if header_data["fortran_order"]:
            data = array.T
        else:
            data = array if array.flags.c_contiguous else np.ascontiguousarray(array)
        if data.dtype.itemsize == 0:
            return None
        return b"".join((header.getvalue(), data.reshape(-1).view(np.uint8)))
    except (ValueError, TypeError):
        return None


def _array_to_npz(array_like: Any) -> bytes:
    import scipy.sparse  # imported on first use: scipy is slow to import and NPZ is rare

    if scipy.sparse.issparse(array_like):
        matrix = array_like
        if matrix.format not in ("csr", "csc", "bsr", "dia", "coo"):
            matrix = matrix.tocsr()
    else:
        matrix = scipy.sparse.csr_matrix(np.asarray(array_like))
    buffer = io.BytesIO()
    scipy.sparse.save_npz(buffer, matrix, compressed=True)
    return buffer.getvalue()


_encoder_map: Dict[str, Callable[[Any], Any]] = {
    content_types.JSON: _array_to_json,
    content_types.CSV: _array_to_csv,
    content_types.NPY: _array_to_npy,
    content_types.NPZ: _array_to_npz,
    content_types.JSONLINES: _array_to_jsonlines,
}

SUPPORTED_CONTENT_TYPES = list(_encoder_map)


def encode(array_like: Any, content_type: Optional[str]) -> Any:
    """Serialise a prediction for a media type (parameters and case ignored).

    Raises NotAcceptableError (406, an UnsupportedFormatError) when there is no encoder for it.
    """
    if not isinstance(content_type, str) or not content_type.strip():
        raise NotAcceptableError(content_type, SUPPORTED_CONTENT_TYPES)
    try:
        essence = parse_media_type(content_type).essence
    except BadRequestError:
        raise NotAcceptableError(content_type, SUPPORTED_CONTENT_TYPES) from None
    encoder = _encoder_map.get(essence)
    if encoder is None:
        raise NotAcceptableError(content_type, SUPPORTED_CONTENT_TYPES)
    return encoder(array_like)
