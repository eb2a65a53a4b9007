"""Test a model directory and its ``inference.py`` in-process: no Java, no HTTP.

``LocalModel`` loads a model directory the way a Multi Model Server worker does and answers
requests with the ``(status, body, content_type)`` the real server would send::

    from sagemaker_inference.testing import LocalModel

    def test_predicts_an_apple():
        model = LocalModel("examples/fruit/model")
        response = model.invoke(b"[[182, 7.4, 12.9, 0.2]]", content_type="application/json")
        assert response.status == 200
        assert response.json()[0]["label"] == "apple"

What runs is what runs inside the server: the handler service
(``sagemaker_inference.default_handler_service`` unless you pass your own), its ``Transformer``
and your hooks, called by MMS's own Python request code (``mms.service.Service`` builds the
context, including ``mms.context.Context`` and one ``RequestProcessor`` per request, and encodes
the answer). The body reaches ``input_fn`` as it does behind the HTTP front end (a
``bytearray``, or ``str`` for text types when you define ``input_fn``), and the answer is decoded
the way the Java front end turns it into an HTTP response.

Differences from a real server, on purpose: a failing ``model_fn`` raises its exception from
``LocalModel(...)`` (the server would log it and exit); HTTP-level limits (payload size,
timeouts, header parsing) and the Java front end's own answers (404 for an unknown path, /ping)
are not modelled.
"""

import importlib
import inspect
import json
import os
import struct
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import (
    Any,
    Callable,
    ContextManager,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from sagemaker_inference.scoped_environ import scoped_environ

DEFAULT_HANDLER_SERVICE = "sagemaker_inference.default_handler_service"
DEFAULT_MODEL_NAME = "model"

Body = Union[bytes, bytearray, memoryview, str, Any]


@dataclass(frozen=True)
class Response(object):
    """What the server answers: HTTP status, body bytes and Content-Type (None when unset).

    Unpacks as a 3-tuple: ``status, body, content_type = model.invoke(...)``. ``reason`` is the
    HTTP reason phrase the handler set (the standard phrase when it set none) and ``headers``
    holds the response headers the handler set. Only the first three take part in ``==``.
    """

    status: int
    body: bytes
    content_type: Optional[str]
    reason: str = field(default="", compare=False)
    headers: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.status, self.body, self.content_type))

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body decoded with the Content-Type's charset (UTF-8 when none is given)."""
        return self.body.decode(_charset(self.content_type) or "utf-8")

    def json(self) -> Any:
        return json.loads(self.text)


class LocalModel(object):
    """A model directory loaded in this process, answering requests like the served model.

    Args:
        model_dir: a directory laid out like ``/opt/ml/model``: the model files plus
            ``code/inference.py`` (or the file ``program`` names).
        program: the user module in ``<model_dir>/code``, like ``SAGEMAKER_PROGRAM``
            (with or without ``.py``; default ``inference.py``).
        handler_service: the handler service MMS would load: a module name as passed to
            ``model_server.start_model_server`` (``"pkg.module"`` or ``"pkg.module:function"``),
            or an object with ``handle(data, context)`` and optionally ``initialize(context)``
            (e.g. ``DefaultHandlerService(transformer=MyTransformer())``).
        env: extra environment variables (e.g. ``{"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT":
            "text/csv"}``), set in ``os.environ`` while the model loads and while each request
            is handled, as the server's workers would see them.
        model_name: the name MMS gives the model (``context.model_name``).

    The model is loaded at construction: ``pre_model_fn``, ``model_fn`` and ``model_warmup_fn``
    run once, and an exception from any of them propagates unchanged. Requests are handled one
    at a time (one worker). Use it as a context manager, or call ``close()``, to take the model's
    ``code/`` directory back off ``sys.path``.
    """

    def __init__(
        self,
        model_dir: Union[str, "os.PathLike[str]"],
        program: Optional[str] = None,
        handler_service: Any = None,
        env: Optional[Mapping[str, str]] = None,
        model_name: str = DEFAULT_MODEL_NAME,
    ):
        self.model_dir = os.path.abspath(os.fspath(model_dir))
        if not os.path.isdir(self.model_dir):
            raise FileNotFoundError("model directory %s does not exist" % self.model_dir)
        self._env: Dict[str, str] = dict(env or {})
        if program is not None:
            self._env["SAGEMAKER_PROGRAM"] = program
        self._lock = threading.Lock()
        self._code_dir = os.path.join(self.model_dir, "code")
        self._path_before = list(sys.path)

        from mms.service import Service

        self._service = Service(
            model_name, self.model_dir, None, self._entry_point, None, 1  # manifest, gpu, batch
        )
        self._handle: Optional[Callable[[Any, Any], Any]] = None
        with self._environment():
            self._handle = _load_handler_service(
                handler_service or DEFAULT_HANDLER_SERVICE, self._service.context
            )

    # ---- public API -------------------------------------------------------------------------

    @property
    def context(self) -> Any:
        """The ``mms.context.Context`` handed to the handler service (as in a worker)."""
        return self._service.context

    def invoke(
        self,
        body: Body,
        content_type: str = "application/json",
        accept: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Response:
        """Send one request as ``POST /invocations`` would; returns the server's answer.

        ``body`` is sent as is when it is bytes or str (UTF-8). Other values are encoded for
        ``content_type`` first: JSON for lists, dicts and numbers, otherwise the library's
        encoder (numpy arrays as JSON, CSV, NPY, ...). ``accept`` becomes the Accept header
        (omitted when None, as when a client sends none); ``headers`` adds more, such as
        ``X-Amzn-SageMaker-Custom-Attributes``.
        """
        return self.invoke_batch(
            [{"body": body, "content_type": content_type, "accept": accept, "headers": headers}]
        )[0]

    def invoke_batch(self, requests: Sequence[Mapping[str, Any]]) -> List[Response]:
        """Send several requests as one MMS batch (as with ``batch_size`` > 1).

        Each item is a mapping with ``body`` and optionally ``content_type``
        (default ``application/json``), ``accept`` and ``headers``.
        """
        if not requests:
            raise ValueError("invoke_batch needs at least one request")
        batch = [
            _wire_request(
                item.get("body", b""),
                item.get("content_type", "application/json"),
                item.get("accept"),
                item.get("headers"),
            )
            for item in requests
        ]
        with self._lock, self._environment():
            encoded = self._service.predict(batch)
        return _decode_predict_response(bytes(encoded), len(batch))

    def close(self) -> None:
        """Take ``<model_dir>/code`` back off ``sys.path`` and forget modules loaded from it."""
        prefix = self._code_dir + os.sep
        for name, module in list(sys.modules.items()):
            if (getattr(module, "__file__", None) or "").startswith(prefix):
                del sys.modules[name]
        while self._code_dir in sys.path and self._code_dir not in self._path_before:
            sys.path.remove(self._code_dir)
        importlib.invalidate_caches()

    def __enter__(self) -> "LocalModel":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ---- internals --------------------------------------------------------------------------

    def _entry_point(self, data: Any, context: Any) -> Any:
        if self._handle is None:
            raise RuntimeError("the handler service is not loaded")
        return self._handle(data, context)

    def _environment(self) -> ContextManager[None]:
        """``env`` set in ``os.environ`` (and taken back off afterwards)."""
        return scoped_environ(self._env)


def _load_handler_service(handler_service: Any, context: Any) -> Callable[[Any, Any], Any]:
    """Resolve and initialise a handler service the way MMS's model loader does.

    A ``module:function`` string (or a module with a top-level ``handle``) is called once as
    ``function(None, context)``; otherwise the module's only class is instantiated and its
    ``initialize(context)`` called. Unlike MMS, exceptions from initialising propagate.
    """
    if isinstance(handler_service, str):
        module_name, _, function_name = handler_service.partition(":")
        if module_name.endswith(".py"):
            module_name = module_name[:-3]
        module = importlib.import_module(module_name)
        if function_name or hasattr(module, "handle"):
            entry = getattr(module, function_name or "handle")
            entry(None, context)
            return entry
        classes = [
            member
            for member in vars(module).values()
            if inspect.isclass(member) and member.__module__ == module.__name__
        ]
        if len(classes) != 1:
            raise ValueError(
                "handler service module %s must define a handle function or exactly one class "
                "(MMS's rule); it defines %d classes" % (module_name, len(classes))
            )
        handler_service = classes[0]()
    elif inspect.isclass(handler_service):
        handler_service = handler_service()
    if hasattr(handler_service, "exit_on_load_failure"):
        # DefaultHandlerService ends an MMS worker whose model fails to load; here it raises.
        handler_service.exit_on_load_failure = False
    initialize = getattr(handler_service, "initialize", None)
    if initialize is not None:
        initialize(context)
    handle = getattr(handler_service, "handle", None)
    if handle is None:
        if callable(handler_service):
            return handler_service
        raise TypeError("%r has no handle(data, context) method" % (handler_service,))
    return handle


# ---- what the Java front end sends to the worker ------------------------------------------------


def _essence(content_type: Optional[str]) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _charset(content_type: Optional[str]) -> Optional[str]:
    for parameter in (content_type or "").split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError("%s is not JSON serialisable" % type(value).__name__)


def encode_body(body: Body, content_type: Optional[str]) -> bytes:
    """The bytes a client would send for ``body`` with ``content_type``."""
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode(_charset(content_type) or "utf-8")
    essence = _essence(content_type)
    if essence in ("application/json", "") and isinstance(body, (dict, list, tuple, int, float)):
        return json.dumps(body, default=_json_default).encode("utf-8")
    from sagemaker_inference import encoder

    encoded = encoder.encode(body, essence)
    return encoded.encode("utf-8") if isinstance(encoded, str) else bytes(encoded)


def _wire_request(
    body: Body,
    content_type: Optional[str],
    accept: Optional[str],
    headers: Optional[Mapping[str, str]],
) -> Dict[str, Any]:
    """One request as MMS's protocol decoder hands it to ``Service.predict``."""
    payload = encode_body(body, content_type)
    header_items: List[Tuple[str, str]] = [("Content-Length", str(len(payload)))]
    if content_type is not None:
        header_items.append(("Content-Type", content_type))
    if accept is not None:
        header_items.append(("Accept", accept))
    for name, value in (headers or {}).items():
        header_items = [item for item in header_items if item[0].lower() != name.lower()]
        header_items.append((name, value))
    return {
        "requestId": str(uuid.uuid4()).encode("utf-8"),
        "headers": [
            {"name": name.encode("utf-8"), "value": str(value).encode("utf-8")}
            for name, value in header_items
        ],
        "parameters": [
            {"name": "body", "contentType": content_type or "", "value": bytearray(payload)}
        ],
    }


# ---- what the Java front end makes of the worker's answer --------------------------------------


class _Reader(object):
    def __init__(self, data: bytes):
        self._data = data
        self._offset = 0

    def integer(self) -> int:
        (value,) = struct.unpack_from("!i", self._data, self._offset)
        self._offset += 4
        return value

    def chunk(self) -> bytes:
        length = self.integer()
        if length <= 0:
            return b""
        value = self._data[self._offset : self._offset + length]
        self._offset += length
        return value

    def text(self) -> str:
        return self.chunk().decode("utf-8")


def _gson_pretty(document: Mapping[str, Any]) -> bytes:
    """JSON as the front end's Gson (pretty printing, HTML-safe escapes) writes it, plus LF."""
    text = json.dumps(document, indent=2)
    for char in "<>&='":
        text = text.replace(char, "\\u%04x" % ord(char))
    return (text + "\n").encode("utf-8")


def _decode_predict_response(encoded: bytes, count: int) -> List[Response]:
    reader = _Reader(encoded)
    code = reader.integer()
    message = reader.text()
    if code != 200:
        # The worker failed the whole batch; the front end answers each request with an error.
        body = _gson_pretty({"code": code, "type": "InternalServerException", "message": message})
        return [
            Response(code, body, "application/json", reason=_phrase(code), headers={})
            for _ in range(count)
        ]
    responses = []
    while True:
        request_id_length = reader.integer()
        if request_id_length == -1:
            break
        reader._offset += max(request_id_length, 0)
        content_type = reader.text() or None
        status = reader.integer()
        phrase = reader.text()
        headers = {}
        for _ in range(reader.integer()):
            name = reader.text()
            headers[name] = reader.text()
        body = reader.chunk()
        responses.append(
            Response(status, body, content_type, reason=phrase or _phrase(status), headers=headers)
        )
    return responses


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


__all__ = ["LocalModel", "Response", "encode_body"]
