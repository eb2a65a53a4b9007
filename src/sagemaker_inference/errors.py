"""Exceptions that map to HTTP statuses; every message and phrase they carry is one line."""

from typing import Any, Iterable, Optional

from sagemaker_inference.utils import one_line

_MAX_ECHO = 200


def _echo(value: Any) -> str:
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
                % _echo(content_type)
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
        message = "Accept %s cannot be satisfied; supported types: %s" % (_echo(accept), listed)
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
