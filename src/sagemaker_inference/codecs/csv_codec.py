"""CSV: bodies to 2-D float arrays, predictions to one row (or one value) per line.

Decoding always gives rows x columns, also for one row or one column. Empty cells become NaN
(as numpy's genfromtxt did in 1.10.1); ``#`` starts a comment; blank lines are skipped. Ragged
rows and cells that are not numbers are a 400. Encoding writes values like
``numpy.savetxt(fmt="%s")``, every line ending with ``\\n``. With orjson installed, all-numeric
bodies and arrays go through it (:mod:`.fast` keeps the results equal).
"""

import io
import math
import re
import warnings
from typing import Any, List, Optional

import numpy as np

from sagemaker_inference import content_types
from sagemaker_inference.codecs import common, fast
from sagemaker_inference.codecs.registry import FunctionCodec
from sagemaker_inference.errors import BadRequestError, echo

# A CSV cell "-0" is the integer 0 in JSON but -0.0 for float(): such bodies take the full path.
_CSV_NEGATIVE_ZERO = re.compile(r"-0(?![.\deE])")
_CSV_NOT_NUMBERS = '[]{}"tfn#'
# orjson spells booleans true/false where numpy.savetxt writes True/False.
_CSV_ORJSON_DTYPES = fast.ORJSON_DTYPES - {np.dtype(bool)}


def _csv_fast(text: str, dtype: Any) -> Optional[np.ndarray]:
    """Parse an all-numeric CSV body with orjson, or None when the body needs the full parser."""
    orjson = fast.orjson()
    if orjson is None:
        return None
    for char in _CSV_NOT_NUMBERS:
        if char in text:
            return None
    if "\r" in text:
        # A lone CR ends a line for the full parser (universal newlines), while orjson would
        # read it as white space inside a row: only CRLF line ends stay on this path.
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    prescan = len(text) <= fast.PRESCAN_LIMIT
    if prescan and fast.has_long_integer(text):
        return None
    if "-0" in text and _CSV_NEGATIVE_ZERO.search(text):
        return None
    try:
        rows = orjson.loads("[[" + text.rstrip().replace("\n", "],[") + "]]")
        array = np.array(rows, dtype=dtype)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return None
    if array.ndim != 2 or not array.size:
        return None
    if not prescan and fast.may_hold_rounded_integer(array) and fast.has_long_integer(text):
        return None
    return array


def _csv_row(cells: List[str], line_number: int) -> List[float]:
    row = []
    for column, cell in enumerate(cells, 1):
        cell = cell.strip()
        if not cell:
            row.append(math.nan)
            continue
        try:
            row.append(float(cell))
        except ValueError:
            raise BadRequestError(
                "CSV line %d column %d: %s is not a number" % (line_number, column, echo(cell))
            ) from None
    return row


def _csv_slow(text: str, dtype: Any) -> np.ndarray:
    """Line-by-line parse that fills empty cells with NaN and says where a body is wrong."""
    rows: List[List[float]] = []
    width = None
    for line_number, line in enumerate(io.StringIO(text, newline=None), 1):
        line = line.split("#", 1)[0]
        if not line.strip():
            continue
        cells = line.split(",")
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            raise BadRequestError(
                "CSV line %d has %d columns, expected %d" % (line_number, len(cells), width)
            )
        rows.append(_csv_row(cells, line_number))
    if not rows:
        raise BadRequestError("CSV body has no data rows")
    return common.to_array(rows, dtype, "CSV")


def decode_csv(data: Any, charset: Optional[str] = None, dtype: Any = None) -> Any:
    common.check_buffer(data, "CSV")
    text = common.to_text(data, charset)
    if not text.strip():
        raise BadRequestError("Empty CSV body")
    dtype = np.dtype(float if dtype is None else dtype)
    if dtype.kind == "f":
        array = _csv_fast(text, dtype)
        if array is not None:
            return array
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            array = np.loadtxt(
                io.StringIO(text, newline=None), delimiter=",", dtype=dtype, ndmin=2, comments="#"
            )
    except (ValueError, TypeError, OverflowError):
        array = None  # empty cells, ragged rows, text cells: the slow parser decides
    if array is not None and array.size:
        return array
    return _csv_slow(text, dtype)


def encode_csv(array_like: Any) -> str:
    array = np.asarray(common.dense(array_like))
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim > 2:
        raise ValueError("CSV holds 1-D or 2-D data; the prediction has shape %s" % (array.shape,))
    if array.size and array.dtype in _CSV_ORJSON_DTYPES:
        compact = fast.numeric_json(array)
        if compact is not None:
            if array.ndim == 1:
                return (compact[1:-1].replace(b",", b"\n") + b"\n").decode("ascii")
            return (compact[2:-2].replace(b"],[", b"\n") + b"\n").decode("ascii")
    if array.size and array.dtype in fast.ORJSON_DTYPES:
        # repr() of the nested list is C-speed and writes each value as numpy's str() does.
        if array.ndim == 1:
            return repr(array.tolist())[1:-1].replace(", ", "\n") + "\n"
        return repr(array.tolist())[2:-2].replace("], [", "\n").replace(", ", ",") + "\n"
    stream = io.StringIO()
    np.savetxt(stream, array, delimiter=",", fmt="%s")
    return stream.getvalue()


CSV_CODEC = FunctionCodec(
    content_types.CSV, decode_csv, encode_csv, text=True, extensions=(".csv",)
)
