"""How the command speaks: its name before every message, its exit codes, one-line messages."""

PROG = "sagemaker-inference"

# Exit codes of ``invoke`` (``serve`` exits with start_model_server's code).
EXIT_HTTP_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


def prefixed(message: str) -> str:
    """``message`` as the command prints it: ``sagemaker-inference: <message>``."""
    return "%s: %s" % (PROG, message)


def one_line(text: str, limit: int = 500) -> str:
    """``text`` with its whitespace runs (newlines included) as single spaces, cut at ``limit``."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
