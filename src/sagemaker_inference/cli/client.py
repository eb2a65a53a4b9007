"""The HTTP client of ``invoke``: where a request goes and one POST with the headers as given."""

import http.client
import urllib.parse
from typing import Dict, Optional, Tuple


def invocation_url(base: str, model: Optional[str]) -> str:
    """``base``'s /invocations, or /models/NAME/invoke for ``model``; ``http://`` when no
    scheme is given."""
    base = base.rstrip("/")
    if "://" not in base:
        base = "http://" + base
    if model:
        return "%s/models/%s/invoke" % (base, urllib.parse.quote(model, safe=""))
    return base + "/invocations"


def post(
    url: str, body: bytes, headers: Dict[str, str], timeout: float
) -> Tuple[int, str, Optional[str], bytes]:
    """POST ``body`` with ``headers`` spelled as given; returns (status, reason, type, body)."""
    parts = urllib.parse.urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "localhost", parts.port, timeout=timeout)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.reason, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()
