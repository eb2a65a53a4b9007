"""The Content-Type ``invoke`` sends for a file, from its extension.

The extensions come from the codec registry (each codec lists its own), so a codec added with
``register_codec`` in the same process is known here too; ``.txt`` is the command's own
addition (plain text has no codec: a user's input_fn may still take it).
"""

import os
from typing import Dict, Optional

DEFAULT_CONTENT_TYPE = "application/json"

# Extensions without a codec of their own.
EXTRA_EXTENSION_TYPES: Dict[str, str] = {".txt": "text/plain"}


def guess_content_type(path: Optional[str]) -> str:
    """The media type of ``path``'s extension (any case); JSON for stdin, none or another."""
    if not path or path == "-":
        return DEFAULT_CONTENT_TYPE
    extension = os.path.splitext(path)[1].lower()
    if not extension:
        return DEFAULT_CONTENT_TYPE
    # Imported here: the codecs import numpy, which the rest of the command does not need.
    from sagemaker_inference import codecs

    found = codecs.media_type_for_extension(extension)
    return found or EXTRA_EXTENSION_TYPES.get(extension, DEFAULT_CONTENT_TYPE)
