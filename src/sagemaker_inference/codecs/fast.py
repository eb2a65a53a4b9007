"""What the optional orjson fast paths must check to give the standard library's results.

orjson turns integers beyond 64 bits into floats where Python keeps them exact; the JSON and CSV
codecs use these checks to leave such bodies to the stdlib path. orjson writes NaN and
infinities as ``null``; :func:`numeric_json` refuses those arrays so the stdlib's literals stay.
"""

import contextlib
import gc
import re
from typing import Any, Iterator, Optional

import numpy as np

from sagemaker_inference import utils

_DIGITS_MARKED = bytes.maketrans(b"0123456789", b"\xff" * 10)
_LONG_DIGIT_RUN = b"\xff" * 19
_DIGIT_OR_POINT = (0xFF, ord("."))
_NOT_MARKED = re.compile(b"[^\xff]")
# orjson keeps integers in [-2**63, 2**64) exact and makes floats of the others, so a float array
# holding no value of this magnitude did not round one. Bodies up to PRESCAN_LIMIT characters are
# scanned for long integers before the parse instead: for them the scan costs less than checking
# the array.
ROUNDED_INTEGER_MAGNITUDE = 2.0**63
PRESCAN_LIMIT = 4096


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block (unless it is already off).

    Parsing a large JSON array makes one list per row, and every few hundred of them start a
    collection that can find nothing (all are reachable from the value being built); the older
    generations are then scanned again and again. Paused, a 10000x32 body decodes about 10 %
    faster. The collector is process-wide: a thread that finds it paused leaves it alone.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# dtypes whose JSON/CSV text Python's repr() of .tolist() gets right, and orjson can serialise.
ORJSON_DTYPES = frozenset(
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
SEARCH_TEXT_MAX_SIZE = 32768


def orjson() -> Any:
    """The orjson module, or None when it is not installed (see ``utils.optional_orjson``)."""
    return utils.optional_orjson()


def has_long_integer(data: Any) -> bool:
    """Whether a number's integer part has 19 or more digits (orjson would round it to float)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if isinstance(raw, memoryview):
        raw = raw.tobytes()
    marked = raw.translate(_DIGITS_MARKED)  # 0xFF never occurs in UTF-8 text
    position = marked.find(_LONG_DIGIT_RUN)
    while position != -1:
        if position == 0 or marked[position - 1] not in _DIGIT_OR_POINT:
            return True
        run_end = _NOT_MARKED.search(marked, position)  # skip the rest of this fraction
        if run_end is None:
            return False
        position = marked.find(_LONG_DIGIT_RUN, run_end.start())
    return False


def may_hold_rounded_integer(array: np.ndarray) -> bool:
    """Whether orjson may have turned a long integer into one of ``array``'s values."""
    kind = array.dtype.kind
    if kind in "biu" or array.size == 0:
        return False  # orjson's integers are exact; a float among them makes a float array
    if kind != "f":
        return True  # strings, objects: values are not checked one by one
    return not (
        array.max() < ROUNDED_INTEGER_MAGNITUDE and array.min() > -ROUNDED_INTEGER_MAGNITUDE
    )


def numeric_json(array: np.ndarray) -> Optional[bytes]:
    """Compact JSON of a finite numeric array through orjson, or None when it cannot be used.

    orjson writes NaN and infinities as ``null``, the only letter ``n`` a numeric array's text
    can hold: finding it in the text is cheaper than np.isfinite, except for large arrays.
    """
    module = orjson()
    if module is None or array.ndim == 0 or array.size == 0:
        return None
    if array.dtype == np.float32:
        array = array.astype(np.float64)  # the stdlib writes float32 values at float64 precision
    elif array.dtype not in ORJSON_DTYPES:
        return None
    is_float = array.dtype.kind == "f"
    if is_float and array.size > SEARCH_TEXT_MAX_SIZE and not np.isfinite(array).all():
        return None  # keep the stdlib's NaN/Infinity literals
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    try:
        text = module.dumps(array, option=module.OPT_SERIALIZE_NUMPY)
    except (module.JSONEncodeError, TypeError):
        return None
    if is_float and array.size <= SEARCH_TEXT_MAX_SIZE and b"n" in text:
        return None  # a null: keep the stdlib's NaN/Infinity literals
    return text
