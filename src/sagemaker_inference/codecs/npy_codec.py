"""NPY (numpy.save) and NPZ (scipy.sparse.save_npz): binary bodies and predictions.

NPY bodies load without pickle; a ``bytearray`` body (what MMS hands over) is used in place
without a copy. Headers are checked so a small body cannot declare a huge or negative array.
NPZ archives are checked against ``SAGEMAKER_MAX_DECODED_BYTES`` before scipy reads them. Arrays
of Python objects need ``SAGEMAKER_ALLOW_PICKLE=true`` both ways.
"""

import functools
import io
import math
import struct
import zipfile
from typing import Any, Optional

import numpy as np

from sagemaker_inference import content_types
from sagemaker_inference.codecs import common, settings
from sagemaker_inference.codecs.registry import FunctionCodec
from sagemaker_inference.errors import BadRequestError, echo

_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER_LIMIT = 10000  # numpy's own default max_header_size
_NPZ_MAX_MEMBERS = 1024
# Where an NPY header's length field sits and how wide it is, by format version (numpy's layout).
_NPY_LENGTH_FIELD = {(1, 0): ("<H", 8, 10), (2, 0): ("<I", 8, 12), (3, 0): ("<I", 8, 12)}


def _as_bytes_view(data: Any, what: str) -> memoryview:
    if isinstance(data, str):
        raise BadRequestError("%s body must be bytes, not text" % what)
    common.check_buffer(data, what)
    view = memoryview(data)
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
    return view


def read_npy_header(stream: Any) -> Any:
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


@functools.lru_cache(maxsize=64)
def parse_npy_header(header: bytes) -> Any:
    """(shape, fortran_order, dtype) of a complete NPY header; requests of one shape repeat it."""
    return read_npy_header(io.BytesIO(header))


def _npy_header(view: memoryview) -> Any:
    """(shape, fortran_order, dtype, data offset) of the NPY body in ``view``."""
    field = _NPY_LENGTH_FIELD.get((view[6], view[7])) if view.nbytes >= 12 else None
    if field is not None:
        fmt, start, end = field
        end_of_header = end + struct.unpack(fmt, view[start:end])[0]
        if end_of_header - end <= _NPY_HEADER_LIMIT and end_of_header <= view.nbytes:
            header = view[:end_of_header].tobytes()
            shape, fortran_order, dtype = parse_npy_header(header)
            if dtype.names is not None:  # field names can be renamed in place: never share those
                shape, fortran_order, dtype = read_npy_header(io.BytesIO(header))
            return shape, fortran_order, dtype, end_of_header
    # Unknown versions, short bodies, oversized headers: numpy reads it and words the error.
    stream = io.BytesIO(view[: _NPY_HEADER_LIMIT + 64])
    shape, fortran_order, dtype = read_npy_header(stream)
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
        % (what, settings.ALLOW_PICKLE_ENV)
    )


def _checked_header(view: memoryview) -> Any:
    try:
        return _npy_header(view)
    except BadRequestError:
        raise
    except Exception as exc:
        raise BadRequestError("Invalid NPY header: %s" % common.reason(exc)) from None


def decode_npy(data: Any, charset: Optional[str] = None) -> Any:
    view = _as_bytes_view(data, "NPY")
    if view[:6].tobytes() != _NPY_MAGIC:
        if settings.allow_pickle():  # the operator opted into 1.10.1's np.load(allow_pickle=True)
            return np.load(io.BytesIO(view), allow_pickle=True)
        raise BadRequestError("NPY body does not start with the NPY magic string")
    shape, fortran_order, dtype, offset = _checked_header(view)
    if dtype.hasobject:
        if not settings.allow_pickle():
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


def _check_npz_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    with archive.open(member) as handle:
        head = io.BytesIO(handle.read(min(member.file_size, _NPY_HEADER_LIMIT + 64)))
    shape, _, dtype = read_npy_header(head)
    if dtype.hasobject and not settings.allow_pickle():
        raise _pickle_refused("NPZ")
    needed = _element_count(shape, dtype, "NPZ member") * dtype.itemsize
    if needed > member.file_size - head.tell():
        raise BadRequestError(
            "NPZ member %s declares %d bytes of data but holds %d"
            % (echo(member.filename), needed, member.file_size - head.tell())
        )


def _check_npz(stream: io.BytesIO) -> None:
    """Refuse archives that expand past the limit or hold NPY headers lying about their size."""
    try:
        archive = zipfile.ZipFile(stream)
    except Exception as exc:
        raise BadRequestError("NPZ body is not a ZIP archive: %s" % common.reason(exc)) from None
    with archive:
        members = archive.infolist()
        if len(members) > _NPZ_MAX_MEMBERS:
            raise BadRequestError("NPZ archive has %d members, too many" % len(members))
        total = sum(member.file_size for member in members)
        limit = settings.max_decoded_bytes()
        if total > limit:
            raise BadRequestError(
                "NPZ archive expands to %d bytes, more than the limit of %d (%s)"
                % (total, limit, settings.MAX_DECODED_BYTES_ENV)
            )
        for member in members:
            if member.filename.endswith(".npy"):
                _check_npz_member(archive, member)


def decode_npz(data: Any, charset: Optional[str] = None) -> Any:
    view = _as_bytes_view(data, "NPZ")
    stream = io.BytesIO(view)
    _check_npz(stream)
    stream.seek(0)
    import scipy.sparse  # imported on first use: scipy is slow to import and NPZ is rare

    return scipy.sparse.load_npz(stream)


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


def encode_npy(array_like: Any) -> bytes:
    array = np.asanyarray(common.dense(array_like))
    if array.dtype.hasobject:
        if not settings.allow_pickle():
            raise ValueError(
                "NPY of Python objects needs pickle; set %s=true to allow it"
                % settings.ALLOW_PICKLE_ENV
            )
    else:
        body = _npy_bytes(array)
        if body is not None:
            return body
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def encode_npz(array_like: Any) -> bytes:
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


NPY_CODEC = FunctionCodec(content_types.NPY, decode_npy, encode_npy, extensions=(".npy",))
NPZ_CODEC = FunctionCodec(content_types.NPZ, decode_npz, encode_npz, extensions=(".npz",))
