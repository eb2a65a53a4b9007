"""The codec registry: one codec object per media type essence, for decoding and encoding.

A codec is a small object (subclass :class:`Codec`) that names its media type, says whether its
bodies are text (they reach a user's ``input_fn`` as str, decoded with the charset), lists the
file extensions ``invoke`` maps to it, and decodes a body or encodes a prediction. Everything
that used to be a table of its own is derived from the registry: ``decoder.decode`` and
``encoder.encode``, their ``SUPPORTED_CONTENT_TYPES`` lists, the 1.10.1 ``_decoder_map`` /
``_encoder_map`` dictionaries (live views that can still be mutated) and
``content_types.UTF8_TYPES``.
"""

import inspect
from collections.abc import MutableMapping
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

from sagemaker_inference import content_types
from sagemaker_inference.errors import NotAcceptableError, UnsupportedFormatError
from sagemaker_inference.mediatypes import MediaType, parse_media_type


class Codec:
    """Base class of codecs; a subclass sets the class attributes and overrides the methods.

    ``media_type`` is the essence (``type/subtype``, lowercase). ``text`` marks bodies that are
    text in the request's charset. ``can_decode`` / ``can_encode`` say which directions the
    codec serves (a codec that only decodes sets ``can_encode = False``).
    """

    media_type: str = ""
    text: bool = False
    extensions: tuple = ()
    can_decode: bool = True
    can_encode: bool = True

    def decode(self, body: Any, media_type: MediaType) -> Any:
        """The value a request body of ``media_type`` (its parameters included) holds."""
        raise UnsupportedFormatError(str(media_type))

    def encode(self, value: Any, media_type: MediaType) -> Union[bytes, str]:
        """The response body for ``value``: bytes, or str for text codecs (sent as UTF-8)."""
        raise NotAcceptableError(str(media_type), encodable_types())

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, self.media_type)


# The registry proper: codecs by essence, for each direction, in registration order.
_decoders: Dict[str, Codec] = {}
_encoders: Dict[str, Codec] = {}
# Derived lists, updated in place so that modules holding them (decoder, encoder) see changes.
_decodable: List[str] = []
_encodable: List[str] = []


def _essence(media_type: str) -> str:
    parsed = parse_media_type(media_type)
    if parsed.type == "*" or parsed.subtype == "*" or parsed.params:
        raise ValueError("a codec's media type is type/subtype, not %r" % media_type)
    return parsed.essence


def _refresh() -> None:
    _decodable[:] = list(_decoders)
    _encodable[:] = list(_encoders)
    text = [essence for essence, codec in _decoders.items() if codec.text]
    content_types.UTF8_TYPES[:] = text


def register_codec(codec: Codec, replace: bool = False) -> Codec:
    """Serve ``codec.media_type`` with ``codec`` (in the directions it declares); returns it.

    Raises ValueError when the media type already has a codec, unless ``replace`` is true.
    """
    essence = _essence(codec.media_type)
    if not replace and (essence in _decoders or essence in _encoders):
        raise ValueError("media type %s already has a codec; pass replace=True" % essence)
    _decoders.pop(essence, None)
    _encoders.pop(essence, None)
    if codec.can_decode:
        _decoders[essence] = codec
    if codec.can_encode:
        _encoders[essence] = codec
    _refresh()
    return codec


def unregister_codec(media_type: str) -> None:
    """Forget the codec(s) of ``media_type`` (both directions); unknown types are ignored."""
    essence = _essence(media_type)
    _decoders.pop(essence, None)
    _encoders.pop(essence, None)
    _refresh()


# decoder_for(essence) / encoder_for(essence): the codec that decodes bodies of ``essence``
# (lowercase type/subtype) / encodes predictions as it, or None. Bound dict lookups: they run
# for every request.
decoder_for: Callable[[str], Optional[Codec]] = _decoders.get
encoder_for: Callable[[str], Optional[Codec]] = _encoders.get


def is_text(essence: str) -> bool:
    """Whether bodies of ``essence`` are text (decoded to str with the request's charset)."""
    codec = _decoders.get(essence)
    return codec is not None and codec.text


def decodable_types() -> List[str]:
    """Essences with a decoder, in registration order (a live list: do not mutate it)."""
    return _decodable


def encodable_types() -> List[str]:
    """Essences with an encoder, in registration order (a live list: do not mutate it)."""
    return _encodable


def media_type_for_extension(extension: str) -> Optional[str]:
    """The essence of the codec that lists file ``extension`` (".csv" or "csv"), or None."""
    wanted = "." + extension.lower().lstrip(".")
    for codec in list(_decoders.values()) + list(_encoders.values()):
        if wanted in codec.extensions:
            return _essence(codec.media_type)
    return None


class FunctionCodec(Codec):
    """A codec made of plain functions (the built-in codecs, and what 1.10.1 code puts in
    ``_decoder_map`` / ``_encoder_map``): ``decode_function(body)`` or
    ``decode_function(body, charset)``, and ``encode_function(value)``."""

    def __init__(
        self,
        media_type: str,
        decode_function: Optional[Callable] = None,
        encode_function: Optional[Callable] = None,
        text: bool = False,
        extensions: tuple = (),
    ):
        self.media_type = media_type
        self.text = text
        self.extensions = extensions
        self.can_decode = decode_function is not None
        self.can_encode = encode_function is not None
        self.decode_function = decode_function
        self.encode_function = encode_function
        self._charset = None if decode_function is None else _charset_argument(decode_function)

    def decode(self, body: Any, media_type: MediaType) -> Any:
        if self._charset == "keyword":
            return self.decode_function(body, charset=media_type.charset)
        if self._charset == "positional":
            return self.decode_function(body, media_type.charset)
        return self.decode_function(body)

    def encode(self, value: Any, media_type: MediaType) -> Union[bytes, str]:
        return self.encode_function(value)


def _charset_argument(function: Callable) -> Optional[str]:
    """How ``function`` takes the charset: "keyword" (it has a ``charset`` parameter),
    "positional" (it needs a second argument), or None (1.10.1's ``function(body)``)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):  # no signature (some builtins): the one-argument form
        return None
    if "charset" in parameters:
        return "keyword"
    required = [
        p
        for p in parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    return "positional" if len(required) >= 2 else None


class _DirectionMap(MutableMapping):
    """``_decoder_map`` / ``_encoder_map``: the registry seen as ``{essence: function}``.

    Reading gives a function of the codec (decoders: ``(body, charset=None)``); assigning a
    function registers a :class:`FunctionCodec` for that direction alone; ``del`` removes it.
    """

    def __init__(self, codecs: Dict[str, Codec], decoding: bool):
        self._codecs = codecs
        self._decoding = decoding

    def __getitem__(self, essence: str) -> Callable:
        codec = self._codecs[essence]
        if self._decoding:
            return _decode_function(codec)
        return _encode_function(codec)

    def __setitem__(self, media_type: str, function: Callable) -> None:
        essence = _essence(media_type)
        existing = _decoders.get(essence) or _encoders.get(essence)
        text = existing.text if existing is not None else False
        if self._decoding:
            codec = FunctionCodec(essence, decode_function=function, text=text)
        else:
            codec = FunctionCodec(essence, encode_function=function, text=text)
        self._codecs[essence] = codec
        _refresh()

    def __delitem__(self, essence: str) -> None:
        del self._codecs[essence]
        _refresh()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._codecs))

    def __len__(self) -> int:
        return len(self._codecs)

    def copy(self) -> Dict[str, Callable]:
        return dict(self)


def _decode_function(codec: Codec) -> Callable:
    if isinstance(codec, FunctionCodec):
        return codec.decode_function

    def decode(body: Any, charset: Optional[str] = None) -> Any:
        params = (("charset", charset),) if charset else ()
        main, _, sub = codec.media_type.partition("/")
        return codec.decode(body, MediaType(main, sub, params))

    return decode


def _encode_function(codec: Codec) -> Callable:
    if isinstance(codec, FunctionCodec):
        return codec.encode_function
    main, _, sub = codec.media_type.partition("/")
    media_type = MediaType(main, sub)
    return lambda value: codec.encode(value, media_type)


decoder_map = _DirectionMap(_decoders, decoding=True)
encoder_map = _DirectionMap(_encoders, decoding=False)
