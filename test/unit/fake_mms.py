"""A small stand-in for MMS 1.1's worker-side Context and RequestProcessor (SPEC.md section 5).

Only the documented surface: ``system_properties``, ``request_processor[i]`` with
``get_request_properties()``, and the per-index response setters. Headers are kept exactly as
given (MMS does not normalise their case).
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple


class FakeRequestProcessor(object):
    def __init__(self, headers: Optional[Dict[str, Any]] = None):
        self._headers = dict(headers or {})
        self.status_code = 200
        self.reason_phrase: Optional[str] = None
        self.response_headers: Dict[str, str] = {}

    def get_request_properties(self) -> Dict[str, Any]:
        return self._headers

    def get_request_property(self, key: str) -> Any:
        return self._headers.get(key)

    def report_status(self, code: int, reason_phrase: Optional[str] = None) -> None:
        self.status_code = code
        self.reason_phrase = reason_phrase

    def add_response_property(self, key: str, value: str) -> None:
        self.response_headers[key] = value

    def get_response_headers(self) -> Dict[str, str]:
        return self.response_headers


class FakeContext(object):
    def __init__(
        self,
        model_dir: str = "/opt/ml/model",
        headers: Sequence[Optional[Dict[str, Any]]] = ({},),
        batch_size: int = 1,
    ):
        self.model_name = "model"
        self._system_properties = {
            "model_dir": model_dir,
            "gpu_id": None,
            "batch_size": batch_size,
            "server_name": "MMS",
            "server_version": "1.1.11",
        }
        self.request_ids = {i: "req-{}".format(i) for i in range(len(headers))}
        self.request_processor: List[FakeRequestProcessor] = [
            FakeRequestProcessor(h) for h in headers
        ]

    @property
    def system_properties(self) -> Dict[str, Any]:
        return self._system_properties

    def set_response_content_type(self, idx: int, value: str) -> None:
        self.set_response_header(idx, "content-type", value)

    def get_response_content_type(self, idx: int) -> Optional[str]:
        return self.request_processor[idx].response_headers.get("content-type")

    def set_response_status(self, code: int = 200, phrase: str = "", idx: int = 0) -> None:
        self.request_processor[idx].report_status(code, reason_phrase=phrase)

    def get_response_status(self, idx: int) -> Tuple[int, Optional[str]]:
        processor = self.request_processor[idx]
        return processor.status_code, processor.reason_phrase

    def set_response_header(self, idx: int, key: str, value: str) -> None:
        self.request_processor[idx].add_response_property(key, value)


def batch(*bodies: Any) -> List[Dict[str, Any]]:
    """MMS's ``data`` argument with decode_input_request=false: the raw body under "body"."""
    return [{"body": body} for body in bodies]
