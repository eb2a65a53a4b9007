"""Exceptions that map to HTTP statuses, and the one mapping from an exception to the answer.

Every message and phrase they carry is one line. :func:`describe_error` turns any exception a
request fails with into ``(status, phrase, message)``.
"""

import re
from http import HTTPStatus
from typing import Any, Iterable, Optional, Tuple

_MAX_ECHO = 200
MAX_PHRASE_LENGTH = 128
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")


def one_line(value: Any) -> str:
    """``value`` as one line of text: each run of line breaks (CR, LF and the other Unicode line
    separators) becomes one space, and the ends are stripped. Used for messages and phrases."""
    text = value if isinstance(value, str) else str(value)
    return _LINE_BREAKS.sub(" ", text).strip()


def echo(value: Any) -> str:
    """A client-supplied value made safe to quote inside a one-line message."""
    text = ascii(value) if isinstance(value, str) else one_line(repr(value))
    if len(text) > _MAX_ECHO:
        text = text[:_MAX_ECHO] + "...'"
    return text


class UnsupportedFormatError(Exception):
    """The request's Content-Type has no decoder (HTTP 415)."""

    status_code = 415
    phrase = "Unsupported Media Type"

    def __init__(self, content_type: Any, **kwargs: Any) -> None:
        message = kwargs.pop("message", None)
        if kwargs:
            raise TypeError("unexpected keyword arguments: %s" % ", ".join(sorted(kwargs)))
        self.content_type = content_type
        if message is None:
            message = (
                "Content type %s is not supported by this framework. Implement input_fn to "
                "deserialize the request data or output_fn to serialize the response."
                % echo(content_type)
            )
        self.message = one_line(message)
        super().__init__(self.message)


class NotAcceptableError(UnsupportedFormatError):
    """Nothing the Accept header allows can be produced (HTTP 406)."""

    status_code = 406
    phrase = "Not Acceptable"

    def __init__(self, accept: Any, supported: Iterable[str] = ()) -> None:
        self.supported = tuple(supported)
        listed = ", ".join(self.supported) if self.supported else "none"
        message = "Accept %s cannot be satisfied; supported types: %s" % (echo(accept), listed)
        super().__init__(accept, message=message)


class BaseInferenceToolkitError(Exception):
    """An error that carries its own HTTP status code, message (body) and phrase (status line)."""

    def __init__(self, status_code: int, message: Any, phrase: Any) -> None:
        self.status_code = status_code
        self.message = one_line(message) if message is not None else message
        self.phrase = one_line(phrase) if phrase is not None else phrase
        super().__init__(status_code, self.message, self.phrase)


class GenericInferenceToolkitError(BaseInferenceToolkitError):
    def __init__(
        self, status_code: int, message: Optional[str] = None, phrase: Optional[str] = None
    ) -> None:
        message = message or "Invalid Request"
        phrase = phrase or message
        super().__init__(status_code, message, phrase)


class BadRequestError(GenericInferenceToolkitError, ValueError):
    """The request itself is wrong (HTTP 400): malformed body, bad charset, bad media type."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)

    def __str__(self) -> str:
        return self.message


def _phrase(text: str) -> str:
    """A reason phrase HTTP can carry: one line, printable ASCII, bounded length."""
    cleaned = "".join(c if " " <= c < "\x7f" else " " for c in one_line(text))
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_PHRASE_LENGTH:
        cleaned = cleaned[: MAX_PHRASE_LENGTH - 3] + "..."
    return cleaned


def _status_and_texts(exc: BaseException) -> Tuple[Any, str, str]:
    if isinstance(exc, BaseInferenceToolkitError):
        message = str(exc.message) if exc.message is not None else ""
        phrase = str(exc.phrase) if exc.phrase and exc.phrase != exc.message else ""
        return exc.status_code, phrase, message
    if isinstance(exc, UnsupportedFormatError):
        return getattr(exc, "status_code", HTTPStatus.UNSUPPORTED_MEDIA_TYPE), "", str(exc)
    detail = str(exc)
    message = "{}: {}".format(type(exc).__name__, detail) if detail else type(exc).__name__
    return HTTPStatus.INTERNAL_SERVER_ERROR, "", message


def describe_error(exc: BaseException) -> Tuple[int, str, str]:
    """(status, phrase, one-line message) that answer a request failing with ``exc``.

    The toolkit's errors carry their status; anything else is a 500. The phrase is the
    standard one for the status unless the error names its own: the detail goes in the body.
    Short phrases also keep MMS 1.1's response framing away from its split-read defect, which
    kills the worker when a long header block arrives in two reads.
    """
    status, phrase, message = _status_and_texts(exc)
    try:
        status = int(status)
    except (TypeError, ValueError):
        status = HTTPStatus.INTERNAL_SERVER_ERROR
    if not 400 <= status <= 599:
        status = HTTPStatus.INTERNAL_SERVER_ERROR
    try:
        standard = HTTPStatus(status).phrase
    except ValueError:
        standard = "Error"
    message = one_line(message) or standard
    return int(status), _phrase(phrase) or standard, message
