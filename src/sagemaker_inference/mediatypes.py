"""One parser for Content-Type and Accept values (RFC 9110 media types), plus negotiation.

Names and parameter keys are case-insensitive (stored lowercased); parameter values keep their
case except ``charset``, which is lowercased. Results are cached, so parsing the same header
value again costs a dictionary lookup.
"""

import functools
import re
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from sagemaker_inference.errors import BadRequestError, NotAcceptableError, echo

MAX_HEADER_LENGTH = 4096

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_TYPE_RE = re.compile(r"[ \t]*(%s)/(%s)[ \t]*" % (_TOKEN, _TOKEN))
# Java's URLConnection sends a bare "*" meaning "*/*".
_BARE_STAR_RE = re.compile(r"[ \t]*(\*)()[ \t]*(?=;|,|$)")
_PARAM_RE = re.compile(
    r';[ \t]*(?:(%s)[ \t]*=[ \t]*("(?:[^"\\\r\n]|\\[^\r\n])*"|%s)[ \t]*)?' % (_TOKEN, _TOKEN)
)
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
_SEPARATOR_RE = re.compile(r"[ \t]*,[ \t]*")


@dataclass(frozen=True)
class MediaType:
    type: str
    subtype: str
    params: Tuple[Tuple[str, str], ...] = ()
    q: float = 1.0
    # "type/subtype", computed once: it is read for every request.
    essence: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "essence", "%s/%s" % (self.type, self.subtype))

    @property
    def charset(self) -> Optional[str]:
        for key, value in self.params:
            if key == "charset":
                return value
        return None

    @property
    def specificity(self) -> int:
        """0 for */*, 1 for type/*, 2 for type/subtype, 3 for type/subtype with parameters."""
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params else 2

    def matches(self, other: Union[str, "MediaType"]) -> bool:
        """Whether this media range (possibly a wildcard) covers ``other``'s essence."""
        if not isinstance(other, MediaType):
            other = parse_media_type(other)
        if self.type == "*":
            return True
        if self.type != other.type:
            return False
        return self.subtype == "*" or self.subtype == other.subtype

    def __str__(self) -> str:
        text = self.essence
        for key, value in self.params:
            text += "; %s=%s" % (key, value if re.fullmatch(_TOKEN, value) else _quote(value))
        return text


class NegotiatedAccept(str):
    """What a user's or a framework's hook gets as ``accept``: the best concrete media type of
    the request's Accept header, which simple code compares or encodes with as it is.

    ``header`` keeps the header itself, and ``utils.parse_accept(accept)`` ranks every type the
    header lists, as it would for the raw header: code written for 1.10.1, which passed the raw
    header and let toolkits walk it for a type they support, keeps working.
    """

    header: str

    def __new__(cls, value: str, header: str) -> "NegotiatedAccept":
        negotiated = super().__new__(cls, value)
        negotiated.header = header
        return negotiated


class ContentType(str):
    """A request's Content-Type value as the hooks get it (a str), with its parsed form kept
    as ``media_type`` so that the decoder does not parse it again."""

    media_type: MediaType

    def __new__(cls, value: str, media_type: MediaType) -> "ContentType":
        content_type = super().__new__(cls, value)
        content_type.media_type = media_type
        return content_type


@functools.lru_cache(maxsize=512)
def parse_content_type(value: str) -> ContentType:
    """``value`` as a :class:`ContentType`; BadRequestError when it is not a media type."""
    return ContentType(value, parse_media_type(value))


def _quote(value: str) -> str:
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def _invalid(what: str, value: str, why: str) -> BadRequestError:
    return BadRequestError("Invalid %s %s: %s" % (what, echo(value), why))


def _parse_at(value: str, pos: int, what: str) -> Tuple[MediaType, int]:
    """Parse one media type (or range) starting at ``pos``; return it and the end position."""
    match = _TYPE_RE.match(value, pos)
    if match is None:
        match = _BARE_STAR_RE.match(value, pos)
        if match is None:
            raise _invalid(what, value, "expected type/subtype at position %d" % pos)
        main, sub = "*", "*"
    else:
        main, sub = match.group(1).lower(), match.group(2).lower()
        if main == "*" and sub != "*":
            raise _invalid(what, value, "*/%s is not a media range" % sub)
    pos = match.end()
    params: List[Tuple[str, str]] = []
    q = 1.0
    while True:
        match = _PARAM_RE.match(value, pos)
        if match is None:
            break
        pos = match.end()
        key, raw = match.group(1), match.group(2)
        if key is None:
            continue  # an empty parameter such as the trailing ";" of "text/csv;"
        key = key.lower()
        if raw.startswith('"'):
            raw = _QUOTED_PAIR_RE.sub(r"\1", raw[1:-1])
        if key == "q":
            try:
                q = float(raw)
            except ValueError:
                raise _invalid(what, value, "q must be a number") from None
            if not 0.0 <= q <= 1.0:
                raise _invalid(what, value, "q must be between 0 and 1")
            continue
        if key == "charset":
            raw = raw.lower()
        params.append((key, raw))
    return MediaType(main, sub, tuple(params), q), pos


def _check_length(value: str, what: str) -> None:
    if len(value) > MAX_HEADER_LENGTH:
        raise BadRequestError(
            "%s header is too long (%d characters, limit %d)"
            % (what.capitalize(), len(value), MAX_HEADER_LENGTH)
        )


def parse_media_type(value: str) -> MediaType:
    """Parse one media type such as ``application/json; charset=utf-8``.

    Raises BadRequestError for anything that is not ``type/subtype *(; key=value)``.
    """
    if not isinstance(value, str):
        raise BadRequestError("Invalid media type %s: not a string" % echo(value))
    return _parse_media_type_cached(value)


@functools.lru_cache(maxsize=512)
def _parse_media_type_cached(value: str) -> MediaType:
    _check_length(value, "media type")
    media_type, pos = _parse_at(value, 0, "media type")
    if pos != len(value):
        raise _invalid("media type", value, "unexpected text at position %d" % pos)
    return media_type


@functools.lru_cache(maxsize=512)
def _parse_accept_all(value: str) -> Tuple[MediaType, ...]:
    """Every media range of an Accept value in header order, q=0 ranges included."""
    _check_length(value, "accept")
    ranges = []
    pos = 0
    while pos < len(value):
        separator = _SEPARATOR_RE.match(value, pos)
        if separator is not None:  # empty list elements are allowed ("a/b, , c/d")
            pos = separator.end()
            continue
        if not value[pos:].strip(" \t"):
            break
        media_range, pos = _parse_at(value, pos, "Accept")
        if pos < len(value) and _SEPARATOR_RE.match(value, pos) is None:
            raise _invalid("Accept", value, "expected ',' at position %d" % pos)
        ranges.append(media_range)
    return tuple(ranges)


def _ranked(ranges: Iterable[MediaType]) -> List[MediaType]:
    return sorted((r for r in ranges if r.q > 0), key=lambda r: (-r.q, -r.specificity))


@functools.lru_cache(maxsize=512)
def _parse_accept_ranked(value: str) -> Tuple[MediaType, ...]:
    return tuple(_ranked(_parse_accept_all(value)))


def parse_accept(value: Optional[str]) -> List[MediaType]:
    """Media ranges of an Accept header, best first: q descending, then the more specific.

    Ranges with q=0 are left out; None or a blank value gives an empty list.
    """
    if value is None:
        return []
    if not isinstance(value, str):
        raise BadRequestError("Invalid Accept %s: not a string" % echo(value))
    if not value.strip():
        return []
    return list(_parse_accept_ranked(value))


@functools.lru_cache(maxsize=128)
def _essences(supported: Tuple[str, ...]) -> Tuple[str, ...]:
    return tuple(parse_media_type(item).essence for item in supported)


def negotiate(accept: Optional[str], supported: Sequence[str], default: str) -> str:
    """The essence to encode a response with, given the request's Accept header.

    Each supported type gets the q of the most specific range that covers it (RFC 9110 12.5.1).
    The best q wins; among equals an explicitly named type beats one reached through a
    wildcard; among wildcard matches ``default`` wins when it is covered; then the order of the
    Accept header, then the order of ``supported``. A missing or blank Accept behaves as ``*/*``.
    Raises NotAcceptableError(accept, supported) when no supported type is acceptable.
    """
    essences = _essences(tuple(supported))
    default_essence = parse_media_type(default).essence if default else None
    if accept is None or not accept.strip():
        ranges: Tuple[MediaType, ...] = (MediaType("*", "*"),)
    else:
        ranges = _parse_accept_all(accept)

    best_key = None
    best = None
    for s_index, essence in enumerate(essences):
        main, _, sub = essence.partition("/")
        chosen = None
        for a_index, media_range in enumerate(ranges):
            if media_range.type != "*" and (
                media_range.type != main or (media_range.subtype not in ("*", sub))
            ):
                continue
            if chosen is None or media_range.specificity > chosen[1].specificity:
                chosen = (a_index, media_range)
        if chosen is None or chosen[1].q <= 0:
            continue
        a_index, media_range = chosen
        explicit = media_range.specificity >= 2
        is_default = (not explicit) and essence == default_essence
        key = (media_range.q, explicit, is_default, -a_index, -s_index)
        if best_key is None or key > best_key:
            best_key, best = key, essence
    if best is None:
        raise NotAcceptableError(accept, essences)
    return best
