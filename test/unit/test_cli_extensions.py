"""cli.extensions: the Content-Type ``invoke`` sends for a file."""

import pytest

from sagemaker_inference.cli import extensions


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.json", "application/json"),
        ("a.CSV", "text/csv"),
        ("a.npy", "application/x-npy"),
        ("a.npz", "application/x-npz"),
        ("a.jsonl", "application/jsonlines"),
        ("a.jsonlines", "application/jsonlines"),
        ("a.txt", "text/plain"),
        ("a.bin", "application/json"),
        ("-", "application/json"),
        (None, "application/json"),
    ],
)
def test_content_type_from_extension(name, expected):
    assert extensions.guess_content_type(name) == expected
