"""cli.messages: the command's message prefix and one-line messages."""

from sagemaker_inference.cli import messages


def test_prefixed():
    assert messages.prefixed("error: x") == "sagemaker-inference: error: x"


def test_one_line_flattens_whitespace_and_cuts():
    assert messages.one_line("a\n  b\tc\r\n") == "a b c"
    cut = messages.one_line("x" * 600)
    assert len(cut) == 500 and cut.endswith("...")
    assert messages.one_line("x" * 500) == "x" * 500
