"""Times one stack's Python request path in-process, the way MMS's worker runs it, minus the socket.

Run with the python of the stack's virtual environment. The handler is loaded with MMS's own
model loader, each request goes through mms.service.Service.predict (header parsing, the
handler, the response frame) and the worker's emit_metrics, exactly as in model_service_worker.
Only the Unix socket read/write and the Java front end are left out, so the numbers are CPU
microseconds of Python per request and barely move when other programs share the machine.
Prints one JSON document; with --profile DIR also writes cProfile statistics per body.
"""

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import statistics
import sys
import time

BODIES = {
    "JSON 1x16": ("json_1x16.json", "application/json", "application/json"),
    "CSV 100x16": ("csv_100x16.csv", "text/csv", "text/csv"),
    "NPY 1000x32": ("npy_1000x32.npy", "application/x-npy", "application/x-npy"),
}


def _batch(body, content_type, accept):
    return [
        {
            "requestId": b"00000000-0000-0000-0000-000000000000",
            "headers": [
                {"name": b"Host", "value": b"127.0.0.1"},
                {"name": b"Content-Type", "value": content_type.encode()},
                {"name": b"Accept", "value": accept.encode()},
                {"name": b"Content-Length", "value": str(len(body)).encode()},
            ],
            "parameters": [{"name": "body", "contentType": content_type, "value": bytearray(body)}],
        }
    ]


def load_service(handler, model_dir):
    from mms.model_loader import ModelLoaderFactory

    loader = ModelLoaderFactory.get_model_loader(model_dir)
    return loader.load("model", model_dir, handler, None, 1)


def _check(response):
    # create_predict_response frames: the status code follows the command and request id.
    if b"Prediction success" not in bytes(response[:200]):
        raise RuntimeError("prediction failed: %r" % bytes(response[:300]))


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--handler", required=True, help="MMS handler string")
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--body-dir", required=True)
    parser.add_argument("--requests", type=int, default=2000, help="requests per sample")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", help="directory for cProfile statistics")
    parser.add_argument("--label", default="stack")
    return parser.parse_args()


def _write_profile(one, batch, args, name: str) -> None:
    """cProfile statistics of ``args.requests`` more requests, by own and cumulative time."""
    os.makedirs(args.profile, exist_ok=True)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        one(batch)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    path = os.path.join(args.profile, "%s-%s.cprofile.txt" % (args.label, name.split()[0].lower()))
    with open(path, "w") as handle:
        handle.write("%s, %s, %d requests\n" % (args.label, name, args.requests))
        handle.write(out.getvalue())


def _samples(one, batch, args) -> list:
    """CPU microseconds per request, ``args.repeats`` times, after a check and a warm-up."""
    _check(one(batch))
    for _ in range(min(200, args.requests)):
        one(batch)
    samples = []
    for _ in range(args.repeats):
        start = time.process_time()
        for _ in range(args.requests):
            one(batch)
        samples.append((time.process_time() - start) / args.requests * 1e6)
    return samples


def main():
    args = _parse_args()
    # The worker logs to stdout, which Java reads; here it goes to a discarded stream instead.
    logging.basicConfig(stream=io.StringIO(), format="%(message)s", level=logging.INFO)
    sys.path.insert(0, os.path.join(args.model_dir, "code"))
    os.environ.setdefault("MMS_DECODE_INPUT_REQUEST", "false")
    from mms.service import emit_metrics

    started = time.perf_counter()
    service = load_service(args.handler, args.model_dir)
    load_seconds = time.perf_counter() - started

    def one(batch):
        response = service.predict(batch)
        if service.context is not None and service.context.metrics is not None:
            emit_metrics(service.context.metrics.store)  # as model_service_worker does
        return response

    results = {}
    for name, (filename, content_type, accept) in BODIES.items():
        with open(os.path.join(args.body_dir, filename), "rb") as handle:
            body = handle.read()
        batch = _batch(body, content_type, accept)
        samples = _samples(one, batch, args)
        results[name] = {"us_per_request": statistics.median(samples), "samples": samples}
        if args.profile:
            _write_profile(one, batch, args, name)
    json.dump({"load_seconds": load_seconds, "results": results}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
