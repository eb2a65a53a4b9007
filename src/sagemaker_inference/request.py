"""One request of an MMS batch: its headers read once, its body, and the request in flight.

:class:`Request` is built per request from MMS's context: one pass over the headers gives the
case-insensitive header dict, the Content-Type (parsed once, see ``mediatypes.ContentType``)
and the Accept header. :func:`current_request` gives hooks the request being handled.
"""

import contextvars
import json
from typing import Any, Dict, Mapping, Optional

from sagemaker_inference import codecs, content_types, encoder, errors, mediatypes

# The request being handled in this thread (or task); None outside a request.
CURRENT_REQUEST: "contextvars.ContextVar[Optional[Request]]" = contextvars.ContextVar(
    "sagemaker_inference_current_request", default=None
)


def current_request() -> "Optional[Request]":
    """The request being handled, for hooks that need its headers (None outside a request).

    Hooks still receive MMS's own context object; in a batch, ``current_request().index`` says
    which of ``context.request_processor`` is theirs.
    """
    return CURRENT_REQUEST.get()


# enter(request) makes ``request`` the current one and returns the token leave(token) takes.
enter = CURRENT_REQUEST.set
leave = CURRENT_REQUEST.reset


def _request_properties(context: Any, index: int) -> Mapping[str, Any]:
    try:
        properties = context.request_processor[index].get_request_properties()
    except (AttributeError, IndexError, KeyError, TypeError):
        return {}
    return properties if properties is not None else {}


def _body(item: Any) -> Any:
    if isinstance(item, dict):
        body = item.get("body")
        if body is None:
            body = item.get("data")
        return b"" if body is None else body
    return item


class Request(object):
    """One request of an MMS batch: index, headers (case-insensitive), body, response setters."""

    __slots__ = ("context", "index", "properties", "content_type", "accept", "body", "_headers")

    def __init__(self, context: Any, index: int, item: Any = None):
        self.context = context
        self.index = index
        self.properties = _request_properties(context, index)
        content_type = accept = None
        for key, value in self.properties.items():  # the one pass over the headers
            if isinstance(value, str):
                lowered = str(key).lower()
                if lowered == "content-type":
                    content_type = value
                elif lowered == "accept":
                    accept = value
        if content_type:  # parsed once here; a value that does not parse is kept as sent
            try:  # (the decoder then answers 400 for it)
                content_type = mediatypes.parse_content_type(content_type)
            except errors.BadRequestError:
                pass
        self.content_type = content_type
        self.accept: Optional[str] = accept
        self.body = _body(item)
        self._headers: Optional[Dict[str, str]] = None

    @property
    def headers(self) -> Dict[str, str]:
        """Request headers keyed by lower-cased name (MMS keeps the client's spelling)."""
        if self._headers is None:
            self._headers = {
                str(k).lower(): v for k, v in self.properties.items() if isinstance(v, str)
            }
        return self._headers

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.headers.get(name.lower(), default)

    @property
    def custom_attributes(self) -> Optional[str]:
        """The ``X-Amzn-SageMaker-Custom-Attributes`` header, or None."""
        return self.header("x-amzn-sagemaker-custom-attributes")

    def set_response_header(self, name: str, value: str) -> None:
        self.context.set_response_header(self.index, name, value)

    def set_response_status(self, code: int, phrase: str = "") -> None:
        self.context.set_response_status(code, phrase, idx=self.index)

    def text_body(self) -> Any:
        """The body as str when its media type is text (1.10.1 gave hooks str), else as is.

        Decoded with the declared charset (utf-8 by default); BadRequestError for an unknown
        charset or bytes that are not valid text in it.
        """
        body = self.body
        media_type = getattr(self.content_type, "media_type", None)
        if media_type is None or not isinstance(body, (bytes, bytearray, memoryview)):
            return body
        codec = codecs.decoder_for(media_type.essence)
        if codec is None or not codec.text:
            return body
        charset = media_type.charset or "utf-8"
        raw = body.tobytes() if isinstance(body, memoryview) else body
        try:
            return raw.decode(charset)
        except LookupError:
            raise errors.BadRequestError(
                "unknown charset {!r} in Content-Type {!r}".format(charset, str(self.content_type))
            ) from None
        except UnicodeDecodeError as exc:
            raise errors.BadRequestError(
                "request body is not valid {} text: {} at byte {}".format(
                    charset, exc.reason, exc.start
                )
            ) from None


def wire_value(response: Any) -> Any:
    """A value MMS can send: bytes or str; other values become JSON text as MMS would write it."""
    if isinstance(response, (bytes, bytearray, str)):
        return response
    if isinstance(response, memoryview):
        return response.tobytes()
    try:
        return json.dumps(response, indent=2)
    except (TypeError, ValueError):
        pass
    try:
        return encoder.encode(response, content_types.JSON)
    except Exception:
        raise TypeError(
            "the handler returned a {} that is neither bytes, str nor JSON-serialisable; "
            "return (body, content_type) from output_fn".format(type(response).__name__)
        ) from None
