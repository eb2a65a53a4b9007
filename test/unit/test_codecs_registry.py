"""The codec registry: registering codecs, and everything derived from it."""

import importlib
import textwrap

import numpy as np
import pytest

import sagemaker_inference
from fake_mms import FakeContext, batch
from sagemaker_inference import codecs, content_types, decoder, encoder, errors
from sagemaker_inference.codecs import registry
from sagemaker_inference.mediatypes import MediaType
from sagemaker_inference.transformer import Transformer

BUILT_IN = ["application/json", "text/csv", "application/x-npy", "application/x-npz"]
BUILT_IN.append("application/jsonlines")


@pytest.fixture
def pgm():
    """The toy codec of toy_pgm_codec.py registered for one test, then removed again."""
    module = importlib.import_module("toy_pgm_codec")
    sagemaker_inference.register_codec(module.PgmCodec(), replace=True)
    yield module
    sagemaker_inference.unregister_codec(module.MEDIA_TYPE)


@pytest.fixture
def scratch_type():
    yield "application/x-scratch"
    codecs.unregister_codec("application/x-scratch")


def test_built_in_codecs_and_derived_lists():
    assert codecs.encodable_types() == BUILT_IN
    assert encoder.SUPPORTED_CONTENT_TYPES is codecs.encodable_types()
    assert decoder.SUPPORTED_CONTENT_TYPES is codecs.decodable_types()
    assert set(content_types.UTF8_TYPES) == {
        "application/json",
        "text/csv",
        "application/jsonlines",
    }
    assert [codecs.is_text(t) for t in BUILT_IN] == [True, True, False, False, True]


@pytest.mark.parametrize(
    "extension, media_type",
    [
        (".json", "application/json"),
        ("JSONL", "application/jsonlines"),
        (".jsonlines", "application/jsonlines"),
        (".csv", "text/csv"),
        ("npy", "application/x-npy"),
        (".npz", "application/x-npz"),
        (".txt", None),
    ],
)
def test_media_type_for_extension(extension, media_type):
    assert codecs.media_type_for_extension(extension) == media_type


def test_a_codec_in_one_file_is_served_through_the_transformer(pgm, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "inference.py").write_text(textwrap.dedent("""
            def model_fn(model_dir):
                return 255

            def predict_fn(data, model):
                return model - data
            """))
    image = np.array([[0, 10, 20], [30, 40, 250]], dtype=np.uint8)
    body = pgm.PgmCodec().encode(image, None)
    service = Transformer()
    service.validate_and_initialize(model_dir=str(tmp_path), context=FakeContext(str(tmp_path)))
    headers = {"Content-Type": pgm.MEDIA_TYPE, "Accept": pgm.MEDIA_TYPE}
    context = FakeContext(str(tmp_path), headers=[headers])
    result = service.transform(batch(body), context)
    assert context.get_response_status(0)[0] == 200
    assert context.get_response_content_type(0) == pgm.MEDIA_TYPE
    assert result == [b"P5\n3 2\n255\n" + (255 - image).tobytes()]
    assert codecs.media_type_for_extension(".pgm") == pgm.MEDIA_TYPE


def test_registering_twice_needs_replace(pgm):
    with pytest.raises(ValueError, match="already has a codec"):
        codecs.register_codec(pgm.PgmCodec())
    codecs.register_codec(pgm.PgmCodec(), replace=True)


@pytest.mark.parametrize("media_type", ["image/*", "*/*", "text/plain; charset=utf-8"])
def test_a_codec_names_one_media_type(media_type):
    class Wild(codecs.Codec):
        pass

    Wild.media_type = media_type
    with pytest.raises(ValueError):
        codecs.register_codec(Wild())


def test_a_text_codec_is_a_utf8_type_and_gets_str_in_user_input_fn(scratch_type):
    class Scratch(codecs.Codec):
        media_type = scratch_type
        text = True
        can_encode = False

        def decode(self, body, media_type):
            return body.decode(media_type.charset or "utf-8").split()

    codecs.register_codec(Scratch())
    assert scratch_type in content_types.UTF8_TYPES
    assert scratch_type in decoder.SUPPORTED_CONTENT_TYPES
    assert scratch_type not in encoder.SUPPORTED_CONTENT_TYPES
    assert decoder.decode(b"a b", scratch_type + "; charset=utf-8") == ["a", "b"]
    codecs.unregister_codec(scratch_type)
    assert scratch_type not in content_types.UTF8_TYPES
    with pytest.raises(errors.UnsupportedFormatError):
        decoder.decode(b"a b", scratch_type)


def test_1_10_1_style_map_assignment_still_serves_a_type(scratch_type):
    decoder._decoder_map[scratch_type] = lambda body: ("one-arg", bytes(body))
    encoder._encoder_map[scratch_type] = lambda value: "encoded:%s" % (value,)
    assert decoder.decode(b"x", scratch_type) == ("one-arg", b"x")
    assert encoder.encode(1, scratch_type) == "encoded:1"
    decoder._decoder_map[scratch_type] = lambda body, charset: charset
    assert decoder.decode(b"x", scratch_type + "; charset=latin-1") == "latin-1"
    del decoder._decoder_map[scratch_type]
    assert scratch_type not in decoder._decoder_map
    assert scratch_type in encoder._encoder_map


def test_maps_give_functions_of_the_built_in_codecs():
    assert list(decoder._decoder_map) == BUILT_IN
    decode_json = decoder._decoder_map["application/json"]
    assert decode_json(b"[1, 2]").tolist() == [1, 2]
    assert decode_json("[1]".encode("utf-16"), "utf-16").tolist() == [1]
    assert encoder._encoder_map["text/csv"](np.array([1, 2])) == "1\n2\n"
    assert isinstance(decoder._decoder_map.copy(), dict)


def test_function_codec_decodes_and_encodes():
    codec = registry.FunctionCodec("a/b", decode_function=len, encode_function=str)
    assert codec.decode(b"abc", MediaType("a", "b")) == 3
    assert codec.encode(5, MediaType("a", "b")) == "5"
    assert codec.can_decode and codec.can_encode and not codec.text


def test_a_1_10_1_decoder_with_a_dtype_parameter_is_not_given_the_charset(scratch_type):
    decoder._decoder_map[scratch_type] = decoder._json_to_numpy  # (string_like, dtype=None, ...)
    assert decoder.decode(b"[1, 2]", scratch_type + "; charset=utf-8").tolist() == [1, 2]
    decoder._decoder_map[scratch_type] = lambda body, dtype=None: dtype
    assert decoder.decode(b"x", scratch_type + "; charset=utf-8") is None
