"""Codecs: request bodies to values and predictions to response bodies, by media type.

Add a media type in one file::

    from sagemaker_inference.codecs import Codec, register_codec

    class PngCodec(Codec):
        media_type = "image/png"
        extensions = (".png",)

        def decode(self, body, media_type):
            return load_png(bytes(body))

        def encode(self, value, media_type):
            return save_png(value)

    register_codec(PngCodec())

The built-in codecs (JSON, CSV, NPY, NPZ, JSON Lines) are registered when this package is
imported; :mod:`.registry` documents what is derived from the registry.
"""

from sagemaker_inference.codecs.csv_codec import CSV_CODEC
from sagemaker_inference.codecs.json_codec import JSON_CODEC, JSONLINES_CODEC
from sagemaker_inference.codecs.npy_codec import NPY_CODEC, NPZ_CODEC
from sagemaker_inference.codecs.registry import (
    Codec,
    FunctionCodec,
    decodable_types,
    decoder_for,
    encodable_types,
    encoder_for,
    is_text,
    media_type_for_extension,
    register_codec,
    unregister_codec,
)

__all__ = [
    "Codec",
    "FunctionCodec",
    "decodable_types",
    "decoder_for",
    "encodable_types",
    "encoder_for",
    "is_text",
    "media_type_for_extension",
    "register_codec",
    "unregister_codec",
]

# Registration order is the order of SUPPORTED_CONTENT_TYPES and of negotiation's tie-break.
for _codec in (JSON_CODEC, CSV_CODEC, NPY_CODEC, NPZ_CODEC, JSONLINES_CODEC):
    register_codec(_codec)
