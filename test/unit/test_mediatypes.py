import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_inference import errors, mediatypes
from sagemaker_inference.mediatypes import MediaType, negotiate, parse_accept, parse_media_type

SUPPORTED = ["application/json", "text/csv", "application/x-npy", "application/jsonlines"]


@pytest.mark.parametrize(
    "value, essence, charset",
    [
        ("application/json", "application/json", None),
        ("application/json; charset=utf-8", "application/json", "utf-8"),
        ("Text/CSV", "text/csv", None),
        ("text/csv;CHARSET=UTF-8", "text/csv", "utf-8"),
        ('text/csv; charset="latin-1"', "text/csv", "latin-1"),
        ("application/x-npy", "application/x-npy", None),
        ("  application/json ; charset = utf-8 ; ", "application/json", "utf-8"),
        ("application/vnd.api+json", "application/vnd.api+json", None),
    ],
)
def test_parse_media_type(value, essence, charset):
    media_type = parse_media_type(value)
    assert media_type.essence == essence
    assert media_type.charset == charset
    assert media_type.q == 1.0


def test_parameters_are_kept_in_order_with_quoted_values_unescaped():
    media_type = parse_media_type('multipart/form-data; Boundary="a \\"b\\" c"; x=Y')
    assert media_type.params == (("boundary", 'a "b" c'), ("x", "Y"))
    assert str(media_type) == 'multipart/form-data; boundary="a \\"b\\" c"; x=Y'


@pytest.mark.parametrize(
    "value",
    [
        "",
        "json",
        "application/",
        "/json",
        "application/json/extra",
        "application/json; charset",
        "application/json; charset=",
        "application/json; q=abc",
        "application/json; q=2",
        "application/json, text/csv",
        "*/json",
        "app lication/json",
        "application/jsön",
        "application/json\r\nX-Injected: 1",
        'text/csv; charset="unterminated',
        "a/" + "b" * 5000,
    ],
)
def test_parse_media_type_rejects_garbage_with_one_line_400(value):
    with pytest.raises(errors.BadRequestError) as info:
        parse_media_type(value)
    assert info.value.status_code == 400
    assert "\n" not in info.value.message and "\r" not in info.value.message
    assert len(info.value.message) < 400


def test_parse_media_type_rejects_non_strings():
    with pytest.raises(errors.BadRequestError):
        parse_media_type(b"application/json")
    with pytest.raises(errors.BadRequestError):
        parse_media_type(None)


def test_parse_media_type_is_cached():
    assert parse_media_type("application/json; charset=utf-8") is parse_media_type(
        "application/json; charset=utf-8"
    )


def test_media_type_matches_wildcards():
    assert MediaType("*", "*").matches("text/csv")
    assert MediaType("text", "*").matches("text/csv")
    assert not MediaType("text", "*").matches("application/json")
    assert MediaType("text", "csv").matches("Text/CSV; charset=utf-8")
    assert not MediaType("text", "csv").matches("text/plain")
    assert MediaType("application", "json").matches(parse_media_type("application/json"))


def test_specificity_order():
    values = ["*/*", "text/*", "text/csv", "text/csv; header=present"]
    assert [parse_media_type(v).specificity for v in values] == [0, 1, 2, 3]


def test_parse_accept_ranks_by_q_then_specificity():
    ranked = parse_accept("*/*;q=0.1, text/*;q=0.5, text/csv;q=0.5, application/json")
    assert [r.essence for r in ranked] == ["application/json", "text/csv", "text/*", "*/*"]
    assert [r.q for r in ranked] == [1.0, 0.5, 0.5, 0.1]


def test_parse_accept_drops_q_zero_and_empty_elements():
    ranked = parse_accept("text/csv;q=0, , application/json,")
    assert [r.essence for r in ranked] == ["application/json"]
    assert parse_accept(None) == []
    assert parse_accept("   ") == []


def test_parse_accept_handles_java_default_accept():
    ranked = parse_accept("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2")
    assert [r.essence for r in ranked][:3] == ["text/html", "image/gif", "image/jpeg"]
    assert {r.essence for r in ranked[3:]} == {"*/*"}


def test_parse_accept_keeps_commas_inside_quoted_parameters():
    ranked = parse_accept('text/csv; note="a, b", application/json;q=0.9')
    assert [r.essence for r in ranked] == ["text/csv", "application/json"]
    assert ranked[0].params == (("note", "a, b"),)


@pytest.mark.parametrize("value", ["text/csv application/json", "text/csv;q=x", "foo", "a/b;;c"])
def test_parse_accept_garbage_is_bad_request(value):
    with pytest.raises(errors.BadRequestError):
        parse_accept(value)


def test_parse_accept_returns_a_fresh_list():
    first = parse_accept("text/csv, application/json")
    first.clear()
    assert len(parse_accept("text/csv, application/json")) == 2


@pytest.mark.parametrize(
    "accept, default, expected",
    [
        (None, "application/json", "application/json"),
        ("", "text/csv", "text/csv"),
        ("*/*", "application/json", "application/json"),
        ("*/*", "text/csv", "text/csv"),
        ("application/*", "application/json", "application/json"),
        ("application/*", "text/csv", "application/json"),
        ("text/*", "application/json", "text/csv"),
        ("text/csv;q=0.5, application/json", "text/csv", "application/json"),
        ("text/csv, */*", "application/json", "text/csv"),
        ("text/csv;q=0, */*", "text/csv", "application/json"),
        ("*/*;q=0.1, application/x-npy", "application/json", "application/x-npy"),
        ("Application/JSON; charset=utf-8", "text/csv", "application/json"),
        ("application/jsonlines, text/csv", "application/json", "application/jsonlines"),
        ("text/html, */*;q=0.5", "text/csv", "text/csv"),
        ("*; q=.2", "application/json", "application/json"),
        (None, "application/unknown", "application/json"),
        (None, "Text/CSV; charset=utf-8", "text/csv"),
    ],
)
def test_negotiate(accept, default, expected):
    assert negotiate(accept, SUPPORTED, default) == expected


@pytest.mark.parametrize("accept", ["text/html", "image/*", "text/csv;q=0", "*/*;q=0"])
def test_negotiate_nothing_acceptable_is_406_listing_supported(accept):
    with pytest.raises(errors.NotAcceptableError) as info:
        negotiate(accept, SUPPORTED, "application/json")
    assert info.value.status_code == 406
    for essence in SUPPORTED:
        assert essence in info.value.message


def test_negotiate_garbage_accept_is_400():
    with pytest.raises(errors.BadRequestError):
        negotiate("no slash here", SUPPORTED, "application/json")


_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-+.", min_size=1, max_size=10)
_value = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="\\"),
    max_size=10,
)


@settings(max_examples=60, deadline=None)
@given(
    main=_token,
    sub=_token,
    params=st.lists(st.tuples(_token.filter(lambda k: k != "q"), _value), max_size=3),
)
def test_str_round_trips_through_the_parser(main, sub, params):
    media_type = MediaType(
        main, sub, tuple((k, v.lower() if k == "charset" else v) for k, v in params)
    )
    assert parse_media_type(str(media_type)) == media_type


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_is_bad_request(value):
    for parse in (parse_media_type, parse_accept):
        try:
            parse(value)
        except errors.BadRequestError as error:
            assert "\n" not in error.message and "\r" not in error.message


def test_module_constant_bounds_header_length():
    assert mediatypes.MAX_HEADER_LENGTH >= 1024


def test_parse_content_type_keeps_the_value_and_its_parsed_form():
    content_type = mediatypes.parse_content_type("Text/CSV; charset=UTF-8")
    assert content_type == "Text/CSV; charset=UTF-8" and isinstance(content_type, str)
    assert content_type.media_type == mediatypes.parse_media_type("text/csv; charset=utf-8")
    assert content_type.media_type.essence == "text/csv"
    assert mediatypes.parse_content_type("Text/CSV; charset=UTF-8") is content_type  # cached
    with pytest.raises(errors.BadRequestError):
        mediatypes.parse_content_type("csv")
