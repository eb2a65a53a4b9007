"""cli.client: where ``invoke`` sends its request (the POST itself is in test/process)."""

import pytest

from sagemaker_inference.cli import client


@pytest.mark.parametrize(
    "base, model, url",
    [
        ("http://h:1/", None, "http://h:1/invocations"),
        ("h:1", None, "http://h:1/invocations"),
        ("h:1", "a b", "http://h:1/models/a%20b/invoke"),
        ("https://h", "x/y", "https://h/models/x%2Fy/invoke"),
    ],
)
def test_invocation_url(base, model, url):
    assert client.invocation_url(base, model) == url
