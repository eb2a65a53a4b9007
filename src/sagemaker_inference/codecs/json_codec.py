"""JSON and JSON Lines: bodies to numpy arrays, predictions to the text 1.10.1 wrote.

Decoding: the JSON value as ``np.array``. ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON
(RFC 8259) and are a 400 unless ``SAGEMAKER_ALLOW_JSON_NAN=true``. JSON Lines: one JSON value per
line, stacked with ``np.array``.

Encoding: ``json.dumps`` with ``", "`` separators, numpy values through ``tolist()``, sparse
matrices as dense lists; NaN/infinities as Python's literals. JSON Lines: one document per item
of the first axis, each followed by ``\\n``. With orjson installed, numeric arrays go through it
(:mod:`.fast` keeps the results equal to the stdlib's).
"""

import json
from typing import Any, Optional

import numpy as np

from sagemaker_inference import content_types
from sagemaker_inference.codecs import common, fast, settings
from sagemaker_inference.codecs.registry import FunctionCodec
from sagemaker_inference.errors import BadRequestError


def _refuse_constant(literal: str) -> Any:
    raise BadRequestError(
        "Invalid JSON: %s is not a JSON number (set %s=true to accept it)"
        % (literal, settings.ALLOW_JSON_NAN_ENV)
    )


def _orjson_may_parse(data: Any, charset: Optional[str]) -> bool:
    if not isinstance(data, str) and not common.is_utf8(charset):
        return False
    return not fast.has_long_integer(data)


def loads(data: Any, charset: Optional[str], what: str = "JSON") -> Any:
    """The JSON value of ``data`` (orjson when it gives the stdlib's value); 400 when invalid."""
    orjson = fast.orjson()
    if orjson is not None and _orjson_may_parse(data, charset):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the stdlib decides (it accepts NaN, a BOM, lone surrogates) and words the error
    text = common.to_text(data, charset)
    try:
        if settings.allow_json_nan():
            return json.loads(text)
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            "Invalid %s: %s at line %d column %d" % (what, exc.msg, exc.lineno, exc.colno)
        ) from None


def _json_fast(data: Any, charset: Optional[str]) -> Optional[np.ndarray]:
    """orjson's array for a large body when it equals the stdlib's, else None (the caller decides).

    Checked after the parse: the body is scanned for long integers only when the array could
    hold a rounded one.
    """
    orjson = fast.orjson()
    if orjson is None or (not isinstance(data, str) and not common.is_utf8(charset)):
        return None
    try:
        with fast.collector_paused():
            array = np.array(orjson.loads(data))
    except Exception:  # invalid JSON, ragged lists: the full path answers, as it always did
        return None
    if fast.may_hold_rounded_integer(array) and fast.has_long_integer(data):
        return None
    return array


def decode_json(data: Any, charset: Optional[str] = None, dtype: Any = None) -> Any:
    common.check_buffer(data, "JSON")
    if dtype is None and len(data) > fast.PRESCAN_LIMIT:
        array = _json_fast(data, charset)
        if array is not None:
            return array
    return common.to_array(loads(data, charset), dtype, "JSON")


def decode_jsonlines(data: Any, charset: Optional[str] = None, dtype: Any = None) -> Any:
    common.check_buffer(data, "JSON Lines")
    text = common.to_text(data, charset)
    records = []
    for line_number, line in enumerate(text.split("\n"), 1):
        line = line.strip(" \t\r")
        if not line:
            continue
        try:
            records.append(loads(line, None, "JSON Lines"))
        except BadRequestError as exc:
            raise BadRequestError("%s (record on line %d)" % (exc.message, line_number)) from None
    if not records:
        raise BadRequestError("JSON Lines body has no records")
    return common.to_array(records, dtype, "JSON Lines")


def _json_default(obj: Any) -> Any:
    if common.is_sparse(obj):
        return obj.toarray().tolist()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError("Object of type %s is not JSON serializable" % type(obj).__name__)


def encode_json(array_like: Any) -> str:
    if isinstance(array_like, np.ndarray):
        compact = fast.numeric_json(array_like)
        if compact is not None:
            # Numeric arrays hold no strings, so every comma separates: match json.dumps' ", ".
            return compact.replace(b",", b", ").decode("ascii")
    return json.dumps(array_like, default=_json_default)


def _is_plain_numeric(array: np.ndarray) -> bool:
    return array.dtype in fast.ORJSON_DTYPES or array.dtype == np.float32


def encode_jsonlines(array_like: Any) -> str:
    obj = common.dense(array_like)
    if isinstance(obj, np.ndarray) and obj.ndim >= 1 and obj.size and _is_plain_numeric(obj):
        # Split the array's JSON text between the items of the first axis: numeric text holds
        # no brackets or commas of its own, so the separator is unambiguous.
        text = encode_json(obj)[1:-1]
        depth = obj.ndim - 1
        separator = "]" * depth + ", " + "[" * depth
        return text.replace(separator, "]" * depth + "\n" + "[" * depth) + "\n"
    if isinstance(obj, np.ndarray) and obj.ndim >= 1:
        items = list(obj)
    elif isinstance(obj, (list, tuple)):
        items = list(obj)
    else:
        items = [obj]
    return "".join(encode_json(item) + "\n" for item in items)


JSON_CODEC = FunctionCodec(
    content_types.JSON, decode_json, encode_json, text=True, extensions=(".json",)
)
JSONLINES_CODEC = FunctionCodec(
    content_types.JSONLINES,
    decode_jsonlines,
    encode_jsonlines,
    text=True,
    extensions=(".jsonl", ".jsonlines"),
)
