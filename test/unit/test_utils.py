import pytest

from sagemaker_inference import errors, utils


def test_read_and_write_text_file(tmp_path):
    path = str(tmp_path / "f.txt")
    utils.write_file(path, "héllo\n")
    assert utils.read_file(path) == "héllo\n"
    utils.write_file(path, "more", mode="a")
    assert utils.read_file(path) == "héllo\nmore"


def test_read_and_write_binary_file(tmp_path):
    path = str(tmp_path / "f.bin")
    utils.write_file(path, b"\x00\xff", mode="wb")
    assert utils.read_file(path, mode="rb") == b"\x00\xff"


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/csv"},
        {"content-type": "text/csv"},
        {"CONTENT-TYPE": "text/csv"},
        {"ContentType": "text/csv"},
        {"Accept": "application/json", "Content-type": "text/csv"},
        {b"Content-Type": b"text/csv"},
    ],
)
def test_retrieve_content_type_header_any_spelling(headers):
    assert utils.retrieve_content_type_header(headers) == "text/csv"


@pytest.mark.parametrize("headers", [{}, None, {"Accept": "text/csv"}, {"Content-Length": "3"}])
def test_retrieve_content_type_header_missing(headers):
    assert utils.retrieve_content_type_header(headers) is None


def test_parse_accept_ranks_by_quality():
    assert utils.parse_accept("text/csv;q=0.5, application/json") == [
        "application/json",
        "text/csv",
    ]
    assert utils.parse_accept("application/json, text/csv") == ["application/json", "text/csv"]
    assert utils.parse_accept("Text/CSV; charset=utf-8") == ["text/csv"]
    assert utils.parse_accept("text/csv;q=0, */*") == ["*/*"]
    assert utils.parse_accept(None) == []
    assert utils.parse_accept("") == []


def test_parse_accept_garbage_is_bad_request():
    with pytest.raises(errors.BadRequestError):
        utils.parse_accept("not a media type")


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("a\r\nb", "a  b"),
        ("a\nb\rc", "a b c"),
        ("line\n", "line "),
        ("\r\n\r\n", "    "),
        ("x\u2028y\tz", "x\u2028y\tz"),
        ("plain", "plain"),
        (ValueError("a\nb"), "a b"),
    ],
)
def test_remove_crlf_replaces_each_cr_and_lf(raw, clean):
    # 1.10.1's rule: one space per CR and per LF, nothing stripped or collapsed
    assert utils.remove_crlf(raw) == clean


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("a\r\nb", "a b"),
        ("line\n", "line"),
        ("x\u2028y\x85z", "x y z"),
        (ValueError("a\nb"), "a b"),
    ],
)
def test_one_line_collapses_every_line_break(raw, clean):
    assert utils.one_line(raw) == clean


def test_optional_orjson_is_module_or_none():
    module = utils.optional_orjson()
    assert module is None or hasattr(module, "loads")
    assert utils.optional_orjson() is module


def test_parse_accept_of_a_negotiated_accept_ranks_the_whole_header():
    from sagemaker_inference import mediatypes

    accept = mediatypes.NegotiatedAccept("application/x-foo", "text/csv;q=0.5, application/x-foo")
    assert accept == "application/x-foo"
    assert utils.parse_accept(accept) == ["application/x-foo", "text/csv"]
