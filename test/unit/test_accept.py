"""accept.AcceptPolicy: the accept value the hooks get, for each kind of output hook."""

import pytest

from sagemaker_inference import accept, errors
from sagemaker_inference.mediatypes import ContentType, NegotiatedAccept

SUPPORTED = ["application/json", "text/csv", "application/x-npy"]


def policy(kind, default="application/json"):
    return accept.AcceptPolicy(kind, default, SUPPORTED)


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "application/json"),
        ("", "application/json"),
        ("*/*", "application/json"),
        ("text/*", "text/csv"),
        ("image/png, text/csv;q=0.5", "text/csv"),
    ],
)
def test_encoder_negotiates_against_the_codecs(header, expected):
    assert policy(accept.ENCODER).choose(header) == expected


def test_encoder_refuses_what_no_codec_encodes():
    with pytest.raises(errors.NotAcceptableError):
        policy(accept.ENCODER).choose("image/png")


def test_encoder_or_first_leaves_other_types_to_the_subclass():
    chosen = policy(accept.ENCODER_OR_FIRST).choose("image/png")
    assert chosen == "image/png" and isinstance(chosen, NegotiatedAccept)


@pytest.mark.parametrize(
    "header, expected",
    [
        (None, "text/csv"),
        ("*/*", "text/csv"),
        ("image/*", "image/*"),
        ("image/png;q=0.4, text/plain", "text/plain"),
    ],
)
def test_first_concrete(header, expected):
    assert policy(accept.FIRST_CONCRETE, default="text/csv").choose(header) == expected


def test_first_concrete_keeps_the_whole_header():
    chosen = policy(accept.FIRST_CONCRETE).choose("text/plain, application/json")
    assert chosen.header == "text/plain, application/json"


def test_unknown_kind():
    with pytest.raises(ValueError):
        policy("sometimes")


def test_encoder_gives_a_parsed_type_the_encoder_does_not_parse_again():
    chosen = policy(accept.ENCODER).choose("text/csv")
    assert isinstance(chosen, ContentType) and chosen.media_type.essence == "text/csv"
