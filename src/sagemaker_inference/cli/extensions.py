"""The Content-Type ``invoke`` sends for a file, from its extension.

The one table of file extensions in the package (the codec registry is to provide it later).
"""

import os
from typing import Dict, Optional

DEFAULT_CONTENT_TYPE = "application/json"

EXTENSION_TYPES: Dict[str, str] = {
    ".json": "application/json",
    ".jsonl": "application/jsonlines",
    ".jsonlines": "application/jsonlines",
    ".csv": "text/csv",
    ".npy": "application/x-npy",
    ".npz": "application/x-npz",
    ".txt": "text/plain",
}


def guess_content_type(path: Optional[str]) -> str:
    """The media type of ``path``'s extension (any case); JSON for stdin, none or another."""
    if path and path != "-":
        extension = os.path.splitext(path)[1].lower()
        if extension in EXTENSION_TYPES:
            return EXTENSION_TYPES[extension]
    return DEFAULT_CONTENT_TYPE
