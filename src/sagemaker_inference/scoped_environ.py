"""Set environment variables for the length of a ``with`` block, then put back what was there.

The ``serve`` command and ``testing.LocalModel`` both hand settings to code that reads
``os.environ`` (start_model_server, a user's hooks) and must leave the caller's environment as
they found it.
"""

import contextlib
import os
from typing import Iterator, Mapping


@contextlib.contextmanager
def scoped_environ(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` updated with ``values`` inside the block; afterwards each of those names
    has its old value again, or is unset when it was unset (other changes are left alone)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
