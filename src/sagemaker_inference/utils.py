"""Small helpers shared by the toolkit's modules (1.10.1 names and shapes)."""

from typing import Any, List, Mapping, Optional

from sagemaker_inference import mediatypes
from sagemaker_inference.errors import one_line

__all__ = [
    "read_file",
    "write_file",
    "retrieve_content_type_header",
    "parse_accept",
    "remove_crlf",
    "one_line",
    "optional_orjson",
]


def read_file(path: str, mode: str = "r") -> Any:
    if "b" in mode:
        with open(path, mode) as handle:
            return handle.read()
    with open(path, mode, encoding="utf-8") as handle:
        return handle.read()


def write_file(path: str, data: Any, mode: str = "w") -> None:
    if "b" in mode:
        with open(path, mode) as handle:
            handle.write(data)
        return
    with open(path, mode, encoding="utf-8") as handle:
        handle.write(data)


def retrieve_content_type_header(request_property: Mapping[str, Any]) -> Optional[str]:
    """Content-Type from a request's headers, whatever the client's spelling of the name.

    ``ContentType`` (no hyphen) is recognised too, as 1.10.1 did. Returns None when absent.
    """
    if not request_property:
        return None
    for key, value in request_property.items():
        name = key.decode("latin-1") if isinstance(key, (bytes, bytearray)) else str(key)
        if name.lower() in ("content-type", "contenttype"):
            if isinstance(value, (bytes, bytearray)):
                return bytes(value).decode("latin-1")
            return value
    return None


def parse_accept(accept: Optional[str]) -> List[str]:
    """Media range essences of an Accept header, best first (ranked by q, q=0 dropped).

    1.10.1 split the raw header on commas; this keeps the list-of-strings shape but ranks it and
    drops parameters, so each entry can be compared with ``encoder.SUPPORTED_CONTENT_TYPES``.
    Raises ``errors.BadRequestError`` when the header cannot be parsed.
    """
    header = getattr(accept, "header", accept)  # a NegotiatedAccept: the whole header
    return [media_range.essence for media_range in mediatypes.parse_accept(header)]


def remove_crlf(illegal_string: Any) -> str:
    """``illegal_string`` with each CR and each LF replaced by a space, as 1.10.1 did (Netty
    refuses them in a status line). Nothing else changes; non-strings are converted with str().
    """
    text = illegal_string if isinstance(illegal_string, str) else str(illegal_string)
    return text.replace("\r", " ").replace("\n", " ")


_ORJSON_UNSET = object()
_orjson_module: Any = _ORJSON_UNSET


def optional_orjson() -> Any:
    """The ``orjson`` module when it is installed, else None (imported on first use).

    orjson only speeds the JSON, CSV and JSON Lines codecs up; results are the same without it.
    """
    global _orjson_module
    if _orjson_module is _ORJSON_UNSET:
        try:
            import orjson
        except ImportError:
            orjson = None
        _orjson_module = orjson
    return _orjson_module
