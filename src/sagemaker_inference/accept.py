"""Which media type a request's hooks are asked to answer with: the Accept policy.

The Transformer builds one :class:`AcceptPolicy` when the model loads, from what the hooks can
encode, and asks it for every request:

* ``ENCODER``: the library's own output_fn encodes. The best type the codec registry can
  encode (``mediatypes.negotiate``), as a parsed ``mediatypes.ContentType``;
  NotAcceptableError (406) when there is none.
* ``ENCODER_OR_FIRST``: a subclass's own ``_default_transform_fn`` that may call the library's
  output_fn (MXNet's does): the best encodable type, or else the first concrete type of the
  header, for the subclass to handle itself.
* ``FIRST_CONCRETE``: the user's output_fn or transform_fn encodes: the first concrete type of
  the header (a ``NegotiatedAccept`` that still carries the whole header), else the default.

A missing or blank Accept header, or one that only lists wildcards covering the default, gives
``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``. Answers are cached per header value.
"""

import functools
from typing import Callable, Optional, Sequence

from sagemaker_inference import errors, mediatypes

ENCODER, ENCODER_OR_FIRST, FIRST_CONCRETE = "encoder", "encoder-or-first", "first-concrete"


class AcceptPolicy(object):
    """``choose(accept_header)`` -> the ``accept`` argument the hooks get."""

    def __init__(self, kind: str, default_accept: str, supported: Sequence[str]):
        if kind not in (ENCODER, ENCODER_OR_FIRST, FIRST_CONCRETE):
            raise ValueError("unknown Accept policy %r" % kind)
        self.kind = kind
        self.default_accept = default_accept
        self.supported = tuple(supported)
        self._default_essence = mediatypes.parse_media_type(default_accept).essence
        self.choose: Callable[[Optional[str]], str] = functools.lru_cache(maxsize=256)(self._choose)

    def _choose(self, accept: Optional[str]) -> str:
        if self.kind == FIRST_CONCRETE:
            return self.first_concrete(accept)
        try:
            chosen = mediatypes.negotiate(accept, self.supported, self.default_accept)
        except errors.NotAcceptableError:
            if self.kind == ENCODER:
                raise
            return self.first_concrete(accept)
        if self.kind == ENCODER:  # for the library's output_fn: the encoder need not parse it
            return mediatypes.parse_content_type(chosen)
        return chosen

    def first_concrete(self, accept: Optional[str]) -> str:
        """The header's best ``type/subtype`` that is not a wildcard, else the default."""
        if accept is None or not accept.strip():
            return self.default_accept
        ranges = mediatypes.parse_accept(accept)
        for media_range in ranges:
            if media_range.type != "*" and media_range.subtype != "*":
                return mediatypes.NegotiatedAccept(media_range.essence, accept)
        if not ranges or any(r.matches(self._default_essence) for r in ranges):
            return self.default_accept
        return ranges[0].essence

    def __repr__(self) -> str:
        return "AcceptPolicy(%r, default=%r)" % (self.kind, self.default_accept)
