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


def test_a_registered_codec_brings_its_extensions():
    from sagemaker_inference.codecs import Codec, register_codec, unregister_codec

    class Toy(Codec):
        media_type = "image/x-toy"
        extensions = (".toy",)

        def decode(self, body, media_type):
            return bytes(body)

        def encode(self, value, media_type):
            return bytes(value)

    assert extensions.guess_content_type("picture.toy") == "application/json"
    register_codec(Toy())
    try:
        assert extensions.guess_content_type("picture.TOY") == "image/x-toy"
    finally:
        unregister_codec("image/x-toy")
