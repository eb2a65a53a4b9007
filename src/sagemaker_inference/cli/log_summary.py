"""The one line ``serve`` prints for a line of server output: errors and the library's warnings.

Everything else (and every line in full) goes only to the log file.
"""

import re
from typing import Optional

_LEVEL = re.compile(r"\[?(ERROR|CRITICAL|FATAL|SEVERE|WARNING|WARN)\s*\]?(?=[\s:]|$)")
_TIMESTAMP = re.compile(r"^\s*\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\s*")
# Parts of a traceback: the library logs a one-line summary before each, and that is shown.
_TRACEBACK = re.compile(
    r"^(Traceback \(most recent call last\):|File \"|\s|During handling of|The above exception"
    r"|\^+$|~+$)"
)
# Fatal messages the Java front end prints without a level.
_UNLEVELLED_FATAL = re.compile(r"^(Invalid configuration:|Exception in thread |Error: )")
# MMS forwards a worker's output as "... W-9000-model-stdout some.Logger - <line>".
_MMS_FORWARD = re.compile(r"\bW-\S+?-std(?:out|err)\s+(?:\S+\s+)?-\s(.*)$")
# After the level: "[logger-name] ", logging's default ":name:", or Java's "thread a.b.Logger - ".
_LOGGER_PREFIXES = (
    re.compile(r"^\[[^\]]*\]\s*"),
    re.compile(r"^:[^:\s]*:"),
    re.compile(r"^(?:\S+\s+)?[\w$]+(?:\.[\w$]+)+\s+-\s+"),
)
_LIBRARY_LOGGER = "[sagemaker-inference]"


def summarize_line(line: str) -> Optional[str]:
    """The one readable line ``serve`` prints for a line of server output, or None.

    Shown: errors from anywhere (``error: <message>``) and warnings of this library's logger,
    such as rejected requests (``warning: <message>``). Timestamps, thread and logger names are
    removed; traceback lines are dropped (everything stays in the log file).
    """
    text = line.rstrip("\r\n")
    forwarded = _MMS_FORWARD.search(text)
    if forwarded:
        text = forwarded.group(1)
    text = _TIMESTAMP.sub("", text)
    if not text.strip() or _TRACEBACK.match(text):
        return None
    if _UNLEVELLED_FATAL.match(text):
        return "error: " + text.strip()
    level = _LEVEL.match(text)
    if level is None:
        return None
    rest = text[level.end() :].lstrip()
    is_error = level.group(1) not in ("WARNING", "WARN")
    if not is_error and not rest.startswith(_LIBRARY_LOGGER):
        return None
    for prefix in _LOGGER_PREFIXES:
        rest = prefix.sub("", rest, count=1)
    rest = rest.strip()
    if not rest:
        return None
    return ("error: " if is_error else "warning: ") + rest


def error_summary(line: str) -> Optional[str]:
    """The message of an error line of server output (see summarize_line), else None."""
    summary = summarize_line(line)
    if summary is None or not summary.startswith("error: "):
        return None
    return summary[len("error: ") :]
