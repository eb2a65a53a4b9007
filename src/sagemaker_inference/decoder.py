"""Request body -> numpy array (or scipy sparse matrix), chosen by the parsed Content-Type.

Decoders, keyed by media type essence (parameters and case do not matter):

* ``application/json``: the JSON value as ``np.array``. The non-standard literals ``NaN``,
  ``Infinity`` and ``-Infinity`` are not JSON (RFC 8259) and are a 400 unless
  ``SAGEMAKER_ALLOW_JSON_NAN=true`` restores 1.10.1's acceptance of them.
* ``text/csv``: always a 2-D float array (rows x columns), also for one row or one column. Empty
  cells become NaN (as numpy's genfromtxt did in 1.10.1); ``#`` starts a comment; blank lines are
  skipped. Ragged rows and cells that are not numbers are a 400.
* ``application/jsonlines``: one JSON value per line, stacked with ``np.array``.
* ``application/x-npy``: the array, loaded without pickle. A ``bytearray`` body (what MMS hands
  over) is used in place without a copy.
* ``application/x-npz``: a scipy sparse matrix saved with ``scipy.sparse.save_npz``.

Text bodies are decoded with the Content-Type's charset (utf-8 by default, a UTF-8 BOM is
skipped). Bad input raises BadRequestError (400) with a one-line reason; an unknown media type
raises UnsupportedFormatError (415). No other exception leaves these functions.

Environment: ``SAGEMAKER_ALLOW_PICKLE=true`` lets NPY/NPZ bodies holding Python objects be
unpickled (never do this for untrusted callers); ``SAGEMAKER_MAX_DECODED_BYTES`` (default
536870912) bounds how large an NPZ archive may expand.
"""

import codecs
import functools
import io
import json
import math
import os
import re
import struct
import warnings
import zipfile
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from sagemaker_inference import content_types, environment, parameters, utils
from sagemaker_inference.errors import BadRequestError, UnsupportedFormatError, _echo
from sagemaker_inference.mediatypes import _parse_media_type_cached

ALLOW_PICKLE_ENV = parameters.ALLOW_PICKLE_ENV
ALLOW_JSON_NAN_ENV = parameters.ALLOW_JSON_NAN_ENV
MAX_DECODED_BYTES_ENV = "SAGEMAKER_MAX_DECODED_BYTES"
DEFAULT_MAX_DECODED_BYTES = 512 * 1024 * 1024

_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER_LIMIT = 10000  # numpy's own default max_header_size
_NPZ_MAX_MEMBERS = 1024
_MAX_REASON = 300

# orjson turns integers beyond 64 bits into floats where Python keeps them exact, and a CSV cell
# "-0" is the integer 0 in JSON but -0.0 for float(); such bodies take the stdlib path.
_DIGITS_MARKED = bytes.maketrans(b"0123456789", b"\xff" * 10)
_LONG_DIGIT_RUN = b"\xff" * 19
_DIGIT_OR_POINT = (0xFF, ord("."))
_NOT_MARKED = re.compile(b"[^\xff]")
_CSV_NEGATIVE_ZERO = re.compile(r"-0(?![.\deE])")
_CSV_NOT_NUMBERS = '[]{}"tfn#'
# orjson keeps integers in [-2**63, 2**64) exact and makes floats of the others, so a float array
# holding no value of this magnitude did not round one. Bodies up to _PRESCAN_LIMIT characters are
# scanned for long integers before the parse instead: for them the scan costs less than checking
# the array.
_ROUNDED_INTEGER_MAGNITUDE = 2.0**63
_PRESCAN_LIMIT = 4096


def _env_flag(name: str) -> bool:
    return environment.flag(name)


def allow_pickle() -> bool:
    return _env_flag(ALLOW_PICKLE_ENV)


def allow_json_nan() -> bool:
    return _env_flag(ALLOW_JSON_NAN_ENV)


def _refuse_constant(literal: str) -> Any:
    raise BadRequestError(
        "Invalid JSON: %s is not a JSON number (set %s=true to accept it)"
        % (literal, ALLOW_JSON_NAN_ENV)
    )


def max_decoded_bytes() -> int:
    raw = os.environ.get(MAX_DECODED_BYTES_ENV, "").strip()
    try:
        value = int(raw) if raw else DEFAULT_MAX_DECODED_BYTES
    except ValueError:
        return DEFAULT_MAX_DECODED_BYTES
    return value if value > 0 else DEFAULT_MAX_DECODED_BYTES


def _reason(exc: BaseException) -> str:
    text = utils.one_line(exc) or type(exc).__name__
    return text if len(text) <= _MAX_REASON else text[:_MAX_REASON] + "..."


def _as_bad_request(exc: Exception, what: str) -> BadRequestError:
    if isinstance(exc, RecursionError):
        return BadRequestError("Invalid %s body: nested too deeply" % what)
    return BadRequestError("Invalid %s body: %s: %s" % (what, type(exc).__name__, _reason(exc)))


def _bad_input(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a decoder raise BadRequestError, naming ``what``, for any failure of its input."""

    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def decode_or_400(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except (BadRequestError, UnsupportedFormatError):
                raise
            except Exception as exc:  # any failure here is the body's fault: answer 400
                raise _as_bad_request(exc, what) from exc

        return decode_or_400

    return wrap


@functools.lru_cache(maxsize=64)
def _codec_for(charset: str) -> str:
    try:
        info = codecs.lookup(charset)
    except LookupError:
        raise BadRequestError("Unknown charset %s" % _echo(charset)) from None
    if not getattr(info, "_is_text_encoding", True):
        raise BadRequestError("Charset %s is not a text encoding" % _echo(charset))
    return "utf-8-sig" if info.name == "utf-8" else info.name


def _is_utf8(charset: Optional[str]) -> bool:
    return charset is None or _codec_for(charset) == "utf-8-sig"


def _check_buffer(data: Any, what: str) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview, str)):
        raise BadRequestError("%s body must be bytes or str, not %s" % (what, type(data).__name__))
    if len(data) == 0:
        raise BadRequestError("Empty %s body" % what)


def _to_text(data: Any, charset: Optional[str]) -> str:
    if isinstance(data, str):
        return data
    codec = _codec_for(charset or "utf-8")
    try:
        return str(data, codec)
    except UnicodeDecodeError as exc:
        raise BadRequestError(
            "Body is not valid %s text: %s at byte %d" % (charset or "utf-8", exc.reason, exc.start)
        ) from None


def _to_array(value: Any, dtype: Any, what: str) -> np.ndarray:
    try:
        return np.array(value, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadRequestError("%s body does not fit a numpy array: %s" % (what, _reason(exc)))


def _has_long_integer(data: Any) -> bool:
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


def _may_hold_rounded_integer(array: np.ndarray) -> bool:
    """Whether orjson may have turned a long integer into one of ``array``'s values."""
    kind = array.dtype.kind
    if kind in "biu" or array.size == 0:
        return False  # orjson's integers are exact; a float among them makes a float array
    if kind != "f":
        return True  # strings, objects: values are not checked one by one
    return not (
        array.max() < _ROUNDED_INTEGER_MAGNITUDE and array.min() > -_ROUNDED_INTEGER_MAGNITUDE
    )


def _orjson_may_parse(data: Any, charset: Optional[str]) -> bool:
    if not isinstance(data, str) and not _is_utf8(charset):
        return False
    return not _has_long_integer(data)


def _loads(data: Any, charset: Optional[str], what: str = "JSON") -> Any:
    orjson = utils.optional_orjson()
    if orjson is not None and _orjson_may_parse(data, charset):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # the stdlib decides (it accepts NaN, a BOM, lone surrogates) and words the error
    text = _to_text(data, charset)
    try:
        if allow_json_nan():
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
    orjson = utils.optional_orjson()
    if orjson is None or (not isinstance(data, str) and not _is_utf8(charset)):
        return None
    try:
        array = np.array(orjson.loads(data))
    except Exception:  # invalid JSON, ragged lists: the full path answers, as it always did
        return None
    if _may_hold_rounded_integer(array) and _has_long_integer(data):
        return None
    return array


def _decode_json(data: Any, charset: Optional[str], dtype: Any = None) -> Any:
    _check_buffer(data, "JSON")
    if dtype is None and len(data) > _PRESCAN_LIMIT:
        array = _json_fast(data, charset)
        if array is not None:
            return array
    return _to_array(_loads(data, charset), dtype, "JSON")


def _csv_fast(text: str, dtype: Any) -> Optional[np.ndarray]:
    """Parse an all-numeric CSV body with orjson, or None when the body needs the full parser."""
    orjson = utils.optional_orjson()
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
    prescan = len(text) <= _PRESCAN_LIMIT
    if prescan and _has_long_integer(text):
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
    if not prescan and _may_hold_rounded_integer(array) and _has_long_integer(text):
        return None
    return array


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
                    "CSV line %d column %d: %s is not a number" % (line_number, column, _echo(cell))
                ) from None
        rows.append(row)
    if not rows:
        raise BadRequestError("CSV body has no data rows")
    return _to_array(rows, dtype, "CSV")


def _decode_csv(data: Any, charset: Optional[str], dtype: Any = None) -> Any:
    _check_buffer(data, "CSV")
    text = _to_text(data, charset)
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


def _decode_jsonlines(data: Any, charset: Optional[str], dtype: Any = None) -> Any:
    _check_buffer(data, "JSON Lines")
    text = _to_text(data, charset)
    records = []
    for line_number, line in enumerate(text.split("\n"), 1):
        line = line.strip(" \t\r")
        if not line:
            continue
        try:
            records.append(_loads(line, None, "JSON Lines"))
        except BadRequestError as exc:
            raise BadRequestError("%s (record on line %d)" % (exc.message, line_number)) from None
    if not records:
        raise BadRequestError("JSON Lines body has no records")
    return _to_array(records, dtype, "JSON Lines")


def _as_bytes_view(data: Any, what: str) -> memoryview:
    if isinstance(data, str):
        raise BadRequestError("%s body must be bytes, not text" % what)
    _check_buffer(data, what)
    view = memoryview(data)
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
    return view


def _read_npy_header(stream: Any) -> Any:
    """(shape, fortran_order, dtype) of the NPY header at ``stream``'s position."""
    fmt = np.lib.format
    version = fmt.read_magic(stream)
    if version == (1, 0):
        reader = fmt.read_array_header_1_0
    elif version == (2, 0):
        reader = fmt.read_array_header_2_0
    elif version == (3, 0) and hasattr(fmt, "_read_array_header"):

        def reader(fp: Any, **kwargs: Any) -> Any:
            return fmt._read_array_header(fp, version=(3, 0), **kwargs)

    else:
        raise BadRequestError("Unsupported NPY format version %d.%d" % version)
    try:
        return reader(stream, max_header_size=_NPY_HEADER_LIMIT)
    except TypeError:  # numpy < 1.24 has no max_header_size
        return reader(stream)


# Where an NPY header's length field sits and how wide it is, by format version (numpy's layout).
_NPY_LENGTH_FIELD = {(1, 0): ("<H", 8, 10), (2, 0): ("<I", 8, 12), (3, 0): ("<I", 8, 12)}


@functools.lru_cache(maxsize=64)
def _parse_npy_header(header: bytes) -> Any:
    """(shape, fortran_order, dtype) of a complete NPY header; requests of one shape repeat it."""
    return _read_npy_header(io.BytesIO(header))


def _npy_header(view: memoryview) -> Any:
    """(shape, fortran_order, dtype, data offset) of the NPY body in ``view``."""
    field = _NPY_LENGTH_FIELD.get((view[6], view[7])) if view.nbytes >= 12 else None
    if field is not None:
        fmt, start, end = field
        end_of_header = end + struct.unpack(fmt, view[start:end])[0]
        if end_of_header - end <= _NPY_HEADER_LIMIT and end_of_header <= view.nbytes:
            header = view[:end_of_header].tobytes()
            shape, fortran_order, dtype = _parse_npy_header(header)
            if dtype.names is not None:  # field names can be renamed in place: never share those
                shape, fortran_order, dtype = _read_npy_header(io.BytesIO(header))
            return shape, fortran_order, dtype, end_of_header
    # Unknown versions, short bodies, oversized headers: numpy reads it and words the error.
    stream = io.BytesIO(view[: _NPY_HEADER_LIMIT + 64])
    shape, fortran_order, dtype = _read_npy_header(stream)
    return shape, fortran_order, dtype, stream.tell()


def _element_count(shape: Any, dtype: np.dtype, what: str) -> int:
    """Elements an NPY header declares; refuses negative dimensions and empty element types.

    Without these checks a 100-byte header could claim a trillion zero-sized elements (a memory
    bomb for whatever converts the array) or a negative size that reads the whole body as data.
    """
    if any(dimension < 0 for dimension in shape):
        raise BadRequestError("%s header declares a negative dimension: %s" % (what, tuple(shape)))
    count = math.prod(shape)
    if dtype.itemsize == 0 and count > 0:
        raise BadRequestError("%s header declares elements of zero size (%s)" % (what, dtype.str))
    return count


def _pickle_refused(what: str) -> BadRequestError:
    return BadRequestError(
        "%s body holds Python objects, which need pickle; refused (set %s=true to allow)"
        % (what, ALLOW_PICKLE_ENV)
    )


def _decode_npy(data: Any, charset: Optional[str] = None) -> Any:
    view = _as_bytes_view(data, "NPY")
    if view[:6].tobytes() != _NPY_MAGIC:
        if allow_pickle():  # the operator opted into 1.10.1's np.load(allow_pickle=True)
            return np.load(io.BytesIO(view), allow_pickle=True)
        raise BadRequestError("NPY body does not start with the NPY magic string")
    try:
        shape, fortran_order, dtype, offset = _npy_header(view)
    except BadRequestError:
        raise
    except Exception as exc:
        raise BadRequestError("Invalid NPY header: %s" % _reason(exc)) from None
    if dtype.hasobject:
        if not allow_pickle():
            raise _pickle_refused("NPY")
        return np.load(io.BytesIO(view), allow_pickle=True)
    count = _element_count(shape, dtype, "NPY")
    needed = count * dtype.itemsize
    available = view.nbytes - offset
    if needed > available:
        raise BadRequestError(
            "NPY header declares shape %s of %s (%d bytes) but the body holds %d bytes of data"
            % (tuple(shape), dtype.str, needed, available)
        )
    if count == 0 or dtype.itemsize == 0:
        return np.zeros(shape, dtype=dtype, order="F" if fortran_order else "C")
    array = np.frombuffer(view, dtype=dtype, count=count, offset=offset)
    if fortran_order:
        array = array.reshape(tuple(shape)[::-1]).transpose()
    else:
        array = array.reshape(shape)
    if not array.flags.writeable:  # bytes bodies are read-only; callers expect a writable array
        array = array.copy(order="K")
    return array


def _check_npz(stream: io.BytesIO) -> None:
    """Refuse archives that expand past the limit or hold NPY headers lying about their size."""
    try:
        archive = zipfile.ZipFile(stream)
    except Exception as exc:
        raise BadRequestError("NPZ body is not a ZIP archive: %s" % _reason(exc)) from None
    with archive:
        members = archive.infolist()
        if len(members) > _NPZ_MAX_MEMBERS:
            raise BadRequestError("NPZ archive has %d members, too many" % len(members))
        total = sum(member.file_size for member in members)
        limit = max_decoded_bytes()
        if total > limit:
            raise BadRequestError(
                "NPZ archive expands to %d bytes, more than the limit of %d (%s)"
                % (total, limit, MAX_DECODED_BYTES_ENV)
            )
        for member in members:
            if not member.filename.endswith(".npy"):
                continue
            with archive.open(member) as handle:
                head = io.BytesIO(handle.read(min(member.file_size, _NPY_HEADER_LIMIT + 64)))
            shape, _, dtype = _read_npy_header(head)
            if dtype.hasobject and not allow_pickle():
                raise _pickle_refused("NPZ")
            needed = _element_count(shape, dtype, "NPZ member") * dtype.itemsize
            if needed > member.file_size - head.tell():
                raise BadRequestError(
                    "NPZ member %s declares %d bytes of data but holds %d"
                    % (_echo(member.filename), needed, member.file_size - head.tell())
                )


def _decode_npz(data: Any, charset: Optional[str] = None) -> Any:
    view = _as_bytes_view(data, "NPZ")
    stream = io.BytesIO(view)
    _check_npz(stream)
    stream.seek(0)
    import scipy.sparse  # imported on first use: scipy is slow to import and NPZ is rare

    return scipy.sparse.load_npz(stream)


# The 1.10.1 names, with their signatures; each raises only BadRequestError for bad input.


@_bad_input("JSON")
def _json_to_numpy(string_like: Any, dtype: Any = None, charset: Optional[str] = None) -> Any:
    return _decode_json(string_like, charset, dtype)


@_bad_input("CSV")
def _csv_to_numpy(string_like: Any, dtype: Any = None, charset: Optional[str] = None) -> Any:
    return _decode_csv(string_like, charset, dtype)


@_bad_input("JSON Lines")
def _jsonlines_to_numpy(string_like: Any, dtype: Any = None, charset: Optional[str] = None) -> Any:
    return _decode_jsonlines(string_like, charset, dtype)


@_bad_input("NPY")
def _npy_to_numpy(npy_array: Any) -> Any:
    return _decode_npy(npy_array)


@_bad_input("NPZ")
def _npz_to_sparse(npz_bytes: Any) -> Any:
    return _decode_npz(npz_bytes)


# Decoders by media type essence; each takes (body, charset).
_decoder_map: Dict[str, Callable[[Any, Optional[str]], Any]] = {
    content_types.JSON: _decode_json,
    content_types.CSV: _decode_csv,
    content_types.JSONLINES: _decode_jsonlines,
    content_types.NPY: _decode_npy,
    content_types.NPZ: _decode_npz,
}

SUPPORTED_CONTENT_TYPES = list(_decoder_map)


def decode(obj: Any, content_type: Optional[str]) -> Any:
    """Decode a request body of the given Content-Type value (parameters allowed).

    Raises UnsupportedFormatError for a missing Content-Type or a media type without a decoder
    and BadRequestError for a malformed Content-Type or body.
    """
    if content_type is None or content_type == "":
        raise UnsupportedFormatError(
            content_type,
            message="The request has no Content-Type. Supported types: {}. Implement input_fn "
            "to deserialize other request data.".format(", ".join(SUPPORTED_CONTENT_TYPES)),
        )
    if not isinstance(content_type, str):
        raise UnsupportedFormatError(content_type)
    media_type = _parse_media_type_cached(content_type)
    decoder = _decoder_map.get(media_type.essence)
    if decoder is None:
        raise UnsupportedFormatError(content_type)
    try:
        return decoder(obj, media_type.charset)
    except (BadRequestError, UnsupportedFormatError):
        raise
    except Exception as exc:  # any failure here is the body's fault: answer 400
        raise _as_bad_request(exc, media_type.essence) from exc
