import pytest

from sagemaker_inference import errors


def test_unsupported_format_error_is_415_with_one_line_message():
    error = errors.UnsupportedFormatError("text/plain")
    assert error.status_code == 415
    assert error.content_type == "text/plain"
    assert "text/plain" in str(error)
    assert str(error) == error.message
    assert "\n" not in error.message and "\r" not in error.message
    assert isinstance(error, Exception)


def test_unsupported_format_error_echoes_hostile_content_type_safely():
    error = errors.UnsupportedFormatError("a/b\r\nX-Evil: 1" + "x" * 5000)
    assert "\r" not in error.message and "\n" not in error.message
    assert len(error.message) < 500


def test_unsupported_format_error_accepts_a_message_keyword_only():
    assert errors.UnsupportedFormatError("a/b", message="custom\nline").message == "custom line"
    with pytest.raises(TypeError):
        errors.UnsupportedFormatError("a/b", other=1)


def test_not_acceptable_error_is_406_and_lists_supported_types():
    error = errors.NotAcceptableError("text/html", ["application/json", "text/csv"])
    assert error.status_code == 406
    assert isinstance(error, errors.UnsupportedFormatError)
    assert error.content_type == "text/html"
    assert error.supported == ("application/json", "text/csv")
    assert "application/json, text/csv" in error.message
    assert "text/html" in error.message
    assert "none" in errors.NotAcceptableError(None).message


def test_base_error_keeps_status_message_phrase():
    error = errors.BaseInferenceToolkitError(418, "teapot", "I'm a teapot")
    assert (error.status_code, error.message, error.phrase) == (418, "teapot", "I'm a teapot")
    assert error.args == (418, "teapot", "I'm a teapot")


def test_base_error_message_and_phrase_are_one_line():
    error = errors.BaseInferenceToolkitError(500, "a\r\nb", "c\nd\re")
    assert error.message == "a b"
    assert error.phrase == "c d e"


def test_generic_error_defaults():
    error = errors.GenericInferenceToolkitError(403)
    assert error.status_code == 403
    assert error.message == "Invalid Request"
    assert error.phrase == "Invalid Request"
    error = errors.GenericInferenceToolkitError(400, "bad thing")
    assert error.phrase == "bad thing"
    error = errors.GenericInferenceToolkitError(400, "bad thing", "Bad")
    assert error.phrase == "Bad"


def test_bad_request_error():
    error = errors.BadRequestError("broken\nbody")
    assert error.status_code == 400
    assert error.message == "broken body"
    assert str(error) == "broken body"
    assert isinstance(error, errors.GenericInferenceToolkitError)
    assert isinstance(error, errors.BaseInferenceToolkitError)
    assert isinstance(error, ValueError)
    with pytest.raises(ValueError):
        raise error


@pytest.mark.parametrize(
    "exc, expected",
    [
        (errors.BadRequestError("bad\nbody"), (400, "Bad Request", "bad body")),
        (errors.UnsupportedFormatError("a/b"), (415, "Unsupported Media Type", None)),
        (errors.NotAcceptableError("a/b", ["c/d"]), (406, "Not Acceptable", None)),
        (errors.GenericInferenceToolkitError(429, "slow", "Slow Down"), (429, "Slow Down", "slow")),
        (errors.GenericInferenceToolkitError(200, "ok"), (500, "Internal Server Error", "ok")),
        (KeyError("k"), (500, "Internal Server Error", "KeyError: 'k'")),
        (ValueError(""), (500, "Internal Server Error", "ValueError")),
    ],
)
def test_describe_error(exc, expected):
    status, phrase, message = errors.describe_error(exc)
    assert (status, phrase) == expected[:2]
    if expected[2] is not None:
        assert message == expected[2]


def test_describe_error_bounds_the_phrase():
    exc = errors.GenericInferenceToolkitError(400, "m", "\u00e9" + "p" * 500)
    phrase = errors.describe_error(exc)[1]
    assert len(phrase) <= errors.MAX_PHRASE_LENGTH and phrase.isascii()


def test_one_line_and_echo():
    assert errors.one_line(" a\r\nb\u2028c ") == "a b c"
    assert errors.echo("x\ny") == "'x\\ny'"
    assert errors.echo("z" * 500).endswith("...'")
