"""A toy codec in one file, as a framework container would add one: binary PGM images.

``image/x-portable-graymap`` bodies (``P5`` header, 8-bit samples) decode to a 2-D uint8 array;
2-D arrays encode back to the same bytes. Importing this module registers the codec.
"""

import numpy as np

from sagemaker_inference import Codec, register_codec

MEDIA_TYPE = "image/x-portable-graymap"


class PgmCodec(Codec):
    media_type = MEDIA_TYPE
    extensions = (".pgm",)

    def decode(self, body, media_type):
        magic, width, height, maxval, pixels = bytes(body).split(maxsplit=4)
        if magic != b"P5" or int(maxval) != 255:
            raise ValueError("only 8-bit binary PGM (P5) is supported")
        return np.frombuffer(pixels, dtype=np.uint8).reshape(int(height), int(width))

    def encode(self, value, media_type):
        image = np.asarray(value, dtype=np.uint8)
        header = b"P5\n%d %d\n255\n" % (image.shape[1], image.shape[0])
        return header + image.tobytes()


register_codec(PgmCodec(), replace=True)
