"""Times one toolkit's decoder.decode and encoder.encode in the interpreter that runs it.

Run with the python of the virtual environment under test; prints one JSON document on stdout.
Both toolkits see the same bodies (built here without either toolkit), so MB/s is always the
canonical body size divided by the time, and the ratio of two runs is a ratio of speeds.

1.10.1's transformer turns UTF-8 bodies into str before calling decode (its CSV decoder does
not accept bytes), so for that toolkit the timed step includes that bytes-to-str conversion.
"""

import argparse
import hashlib
import io
import json
import statistics
import sys
import time

import numpy as np

FORMATS = {
    "json": "application/json",
    "csv": "text/csv",
    "npy": "application/x-npy",
    "jsonl": "application/jsonlines",
}
SHAPES = [(1, 16), (1000, 32), (10000, 32)]
UTF8 = ("application/json", "text/csv", "application/jsonlines")


def make_array(shape):
    return np.random.default_rng(7).random(shape)


def make_body(array, fmt):
    if fmt == "json":
        return json.dumps(array.tolist()).encode("utf-8")
    if fmt == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in array.tolist()).encode("utf-8")
    if fmt == "csv":
        lines = (",".join(repr(v) for v in row) for row in array.tolist())
        return ("\n".join(lines) + "\n").encode("utf-8")
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _time_call(func, min_seconds):
    """Returns seconds per call, looping until one sample takes at least min_seconds."""
    loops = 1
    while True:
        start = time.perf_counter()
        for _ in range(loops):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds or loops >= 1 << 20:
            return elapsed / loops, loops
        loops *= max(2, int(min_seconds / max(elapsed, 1e-6)) + 1)


def _digest(value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha1(bytes(value)).hexdigest()[:12]
    array = np.asarray(value)
    return "%s %s %.9g" % (array.shape, array.dtype, float(np.sum(array, dtype=np.float64)))


def measure(toolkit, repeats, min_seconds, formats):
    from sagemaker_inference import decoder, encoder

    results = []
    for fmt in formats:
        content_type = FORMATS[fmt]
        for shape in SHAPES:
            array = make_array(shape)
            body = bytearray(make_body(array, fmt))
            size = len(body)
            if toolkit == "1.10.1" and content_type in UTF8:

                def do_decode():
                    return decoder.decode(body.decode("utf-8"), content_type)

            else:

                def do_decode():
                    return decoder.decode(body, content_type)

            def do_encode():
                return encoder.encode(array, content_type)

            for op, func in (("decode", do_decode), ("encode", do_encode)):
                row = {"format": fmt, "shape": "%dx%d" % shape, "op": op, "bytes": size}
                try:
                    output = func()
                except Exception as exc:  # the toolkit lacks this codec, or it fails
                    row.update(error="%s: %s" % (type(exc).__name__, str(exc)[:120]))
                    results.append(row)
                    continue
                samples = [_time_call(func, min_seconds) for _ in range(repeats)]
                seconds = statistics.median(s for s, _ in samples)
                row.update(
                    seconds=seconds,
                    mb_per_s=size / seconds / 1e6,
                    loops=samples[0][1],
                    digest=_digest(output),
                )
                results.append(row)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--toolkit", required=True, help="label, e.g. 1.10.1 or project")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.1)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument(
        "--block",
        action="append",
        default=[],
        help="make 'import NAME' fail, e.g. --block orjson to time the stdlib fallback",
    )
    args = parser.parse_args(argv)
    for name in args.block:
        sys.modules[name] = None  # import then raises ImportError
    results = measure(args.toolkit, args.repeats, args.min_seconds, args.formats.split(","))
    json.dump(
        {
            "toolkit": args.toolkit,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "blocked": args.block,
            "results": results,
        },
        sys.stdout,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
