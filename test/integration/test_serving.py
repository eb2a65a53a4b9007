"""One single-model server with default input/output handling, shared by this module."""

import io
import json

import numpy as np
import pytest
import requests

import server_process
from server_harness import BASIC_INFERENCE, module_server, running_server, write_model

pytestmark = pytest.mark.timeout(120)

JSON = "application/json"


@pytest.fixture(scope="module")
def server():
    yield from module_server(
        {"inference.py": BASIC_INFERENCE}, env={"SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"}
    )


def post(server, body, content_type=JSON, accept=None, **headers):
    sent = {"Content-Type": content_type}
    if accept is not None:
        sent["Accept"] = accept
    sent.update(headers)
    return requests.post(server.url + "/invocations", data=body, headers=sent, timeout=30)


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def test_first_prediction_time_recorded(server, timings):
    timings["single model (numpy, default handler)"] = server.first_prediction_seconds
    assert server.first_prediction_seconds < 60


def test_ping(server):
    response = requests.get(server.url + "/ping", timeout=5)
    assert response.status_code == 200


def test_json_in_json_out(server):
    response = post(server, b"[[1, 2], [3, 4]]", accept=JSON)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(JSON)
    assert response.json() == [[5.0], [11.0]]


def test_csv_in_csv_out(server):
    response = post(server, b"1,2\n3,4\n", content_type="text/csv", accept="text/csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = [float(line) for line in response.text.strip().splitlines()]
    assert rows == [5.0, 11.0]


def test_npy_in_npy_out(server):
    response = post(
        server, npy([[1.0, 2.0]]), content_type="application/x-npy", accept="application/x-npy"
    )
    assert response.status_code == 200
    result = np.load(io.BytesIO(response.content), allow_pickle=False)
    np.testing.assert_allclose(result, [[5.0]])


def test_jsonlines_in_and_out(server):
    response = post(
        server,
        b"[1, 2]\n[3, 4]\n",
        content_type="application/jsonlines",
        accept="application/jsonlines",
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/jsonlines")
    lines = [json.loads(line) for line in response.text.strip().splitlines()]
    assert np.asarray(lines, dtype=float).ravel().tolist() == [5.0, 11.0]


def test_accept_negotiation_picks_highest_q(server):
    response = post(server, b"[[1, 2]]", accept="application/json;q=0.2, text/csv;q=0.9")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")


def test_wildcard_accept_uses_default(server):
    response = post(server, b"[[1, 2]]", accept="*/*")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(JSON)


def test_accept_nothing_satisfies_is_406(server):
    response = post(server, b"[[1, 2]]", accept="image/png")
    assert response.status_code == 406
    assert "\n" not in response.text.strip()


def test_content_type_with_charset(server):
    response = post(
        server, "[[1, 2]]".encode("utf-16"), content_type="application/json; charset=utf-16"
    )
    assert response.status_code == 200, response.text
    assert response.json() == [[5.0]]


def test_uppercase_content_type(server):
    response = post(server, b"[[1, 2]]", content_type="APPLICATION/JSON")
    assert response.status_code == 200


def test_malformed_json_is_4xx_then_serving(server):
    response = post(server, b"[[1, 2", accept=JSON)
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text
    assert post(server, b"[[1, 2]]").status_code == 200


def test_unsupported_content_type_is_415(server):
    response = post(server, b"\x00\x01", content_type="application/x-unknown")
    assert response.status_code == 415
    assert post(server, b"[[1, 2]]").status_code == 200


def test_predict_raising_is_500_then_serving(server):
    response = post(server, b"[[-999, 0]]")
    assert response.status_code == 500
    assert "exploded" in response.text
    assert "Traceback" not in response.text
    assert post(server, b"[[1, 2]]").json() == [[5.0]]


def test_model_warmup_fn_ran_once(server):
    response = post(server, b"[[-1, 0]]")
    assert response.status_code == 200
    assert response.json() == [[3.0]]


def test_extra_headers_are_ignored(server):
    response = post(server, b"[[1, 2]]", **{"X-Something-Else": "1", "X-Amzn-Trace-Id": "abc"})
    assert response.status_code == 200


def test_payload_below_limit_passes(server):
    rows = 60000  # about 0.7 MB of CSV, below SAGEMAKER_MAX_PAYLOAD_IN_MB=1
    body = ("1,2\n" * rows).encode()
    assert len(body) < 1024 * 1024
    response = post(server, body, content_type="text/csv", accept="text/csv")
    assert response.status_code == 200
    assert len(response.text.strip().splitlines()) == rows


def test_payload_above_limit_is_413(server):
    body = b"1,2\n" * (300 * 1024)  # 1.2 MB
    try:
        response = post(server, body, content_type="text/csv")
    except requests.ConnectionError:
        pytest.fail("MMS dropped the connection instead of answering 413")
    assert response.status_code == 413
    assert post(server, b"[[1, 2]]").status_code == 200


def test_management_api_not_on_bind_port(server):
    assert requests.get(server.url + "/models", timeout=5).status_code in (404, 405)
    response = requests.post(server.url + "/models?url=model", timeout=5)
    assert response.status_code in (404, 405)
    response = requests.delete(server.url + "/models/model", timeout=5)
    assert response.status_code in (404, 405)
    assert post(server, b"[[1, 2]]").status_code == 200


def test_management_bound_to_loopback_only(server):
    import psutil

    java = [
        proc
        for proc in psutil.Process(server.process.pid).children()
        if "com.amazonaws.ml.mms.ModelServer" in proc.cmdline()
    ][0]
    listening = [
        conn.laddr for conn in java.net_connections(kind="tcp") if conn.status == psutil.CONN_LISTEN
    ]
    others = [addr for addr in listening if addr.port != server.port]
    assert others, listening
    assert all(addr.ip.endswith("127.0.0.1") for addr in others), (server.port, listening)


ACCESS_LINE = '"POST /invocations HTTP/1.1" 200'
BACKEND_TIME_LINE = "Backend response time:"


def _logged(server, text, timeout=10.0):
    """Whether ``text`` reaches the server's output within ``timeout`` (the logger thread
    writes its lines in batches)."""
    try:
        server_process.wait_for(lambda: text in server.log(), timeout)
    except server_process.WaitTimeout:
        return False
    return True


def test_each_request_logs_its_access_line_and_no_backend_time_line(server):
    assert post(server, b"[[1, 2]]").status_code == 200
    assert _logged(server, ACCESS_LINE), server.log()[-2000:]
    assert BACKEND_TIME_LINE not in server.log()


def test_debug_level_logs_mms_s_backend_time_line_too():
    def prepare(srv):
        write_model(srv.base_dir, {"inference.py": BASIC_INFERENCE})

    with running_server({"SAGEMAKER_CONTAINER_LOG_LEVEL": "DEBUG"}, prepare) as debug_server:
        assert post(debug_server, b"[[1, 2]]").status_code == 200
        assert _logged(debug_server, BACKEND_TIME_LINE), debug_server.log()[-2000:]
