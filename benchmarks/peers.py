"""The servers a user would pick instead of this project, started the way the benchmark needs.

Each peer lives in its own virtual environment under benchmarks/.work, installed by
benchmarks/run.py on first use, and serves the benchmark model (benchmarks/model_code) with the
same request bodies on 127.0.0.1:

- ceiling: this project's own start_model_server and MMS configuration, with a handler service
  (benchmarks/ceiling_handler.py) that answers a constant without decoding the body;
- fastapi: FastAPI on uvicorn (benchmarks/fastapi_app.py), /ping and /invocations, one uvicorn
  worker per MMS worker;
- torchserve: TorchServe 0.12 with a custom handler (benchmarks/torchserve_handler.py);
- mlserver: MLServer 1.7.1 with a custom runtime (benchmarks/mlserver_runtime.py) that adds
  /invocations and /ping as custom REST endpoints.

The peers decode and encode with benchmarks/peer_codec.py (numpy, plus orjson for JSON), which
is what a hand-written server would do.
"""

import json
import os

from suite.common import HERE, WORK

FASTAPI_VENV = os.path.join(WORK, "venv-fastapi")
TORCHSERVE_VENV = os.path.join(WORK, "venv-torchserve")
MLSERVER_VENV = os.path.join(WORK, "venv-mlserver")

FASTAPI_REQUIREMENTS = ["fastapi", "uvicorn[standard]", "numpy", "orjson"]
TORCHSERVE_REQUIREMENTS = [
    "torchserve==0.12.*",
    "torch-model-archiver",
    "torch",
    "pyyaml",  # imported by TorchServe's Python worker, missing from its requirements
    "numpy",
    "orjson",
]
# uvloop 0.22 and later raise from asyncio.get_event_loop() in MLServer's worker processes.
MLSERVER_REQUIREMENTS = ["mlserver==1.7.1", "uvloop<0.22", "numpy", "orjson"]

VENVS = {
    "fastapi": (FASTAPI_VENV, FASTAPI_REQUIREMENTS),
    "torchserve": (TORCHSERVE_VENV, TORCHSERVE_REQUIREMENTS),
    "mlserver": (MLSERVER_VENV, MLSERVER_REQUIREMENTS),
}

PEER_STACKS = ("ceiling", "fastapi", "torchserve", "mlserver")
# Stacks whose worker count is fixed at start: the 2-worker cases run on a fresh server.
RESTART_TO_SCALE = ("fastapi", "mlserver")
# The bodies the peers are measured with (the rows: JSON 1x16 and NPY 1000x32).
PEER_BODIES = ["JSON 1x16", "NPY 1000x32"]
TORCHSERVE_STORE = os.path.join(WORK, "torchserve-store")


def _venv_bin(venv: str, name: str) -> str:
    return os.path.join(venv, "bin", name)


def _python_path(model_dir: str, *extra: str) -> str:
    """benchmarks/ (peer_codec and the peer modules) and the model's code directory."""
    return os.pathsep.join([HERE, os.path.join(model_dir, "code"), *extra])


def build_torchserve_archive(model_dir: str, run) -> str:
    """model.mar in benchmarks/.work/torchserve-store: the handler, peer_codec, model code, W."""
    os.makedirs(TORCHSERVE_STORE, exist_ok=True)
    extra = [
        os.path.join(HERE, "peer_codec.py"),
        os.path.join(model_dir, "code", "inference.py"),
        os.path.join(model_dir, "w.npy"),
    ]
    cmd = [_venv_bin(TORCHSERVE_VENV, "torch-model-archiver"), "--model-name", "model"]
    cmd += ["--version", "1.0", "--handler", os.path.join(HERE, "torchserve_handler.py")]
    cmd += ["--extra-files", ",".join(extra), "--export-path", TORCHSERVE_STORE, "--force"]
    run(cmd)
    return os.path.join(TORCHSERVE_STORE, "model.mar")


def _fastapi(state: str, port: int, workers: int, model_dir: str, free_port) -> dict:
    cmd = [_venv_bin(FASTAPI_VENV, "python"), "-m", "uvicorn", "fastapi_app:app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    return {"cmd": cmd, "env": {"PYTHONPATH": _python_path(model_dir)}, "management_port": None}


def _torchserve(state: str, port: int, workers: int, model_dir: str, free_port) -> dict:
    management, metrics = free_port(), free_port()
    config = os.path.join(state, "config.properties")
    with open(config, "w") as handle:
        handle.write(
            "inference_address=http://127.0.0.1:%d\n"
            "management_address=http://127.0.0.1:%d\n"
            "metrics_address=http://127.0.0.1:%d\n"
            "default_workers_per_model=%d\n"
            "decode_input_request=false\n"
            "async_logging=true\n"
            "disable_system_metrics=true\n"
            "install_py_dep_per_model=false\n"
            "enable_model_api=true\n" % (port, management, metrics, workers)
        )
    cmd = [_venv_bin(TORCHSERVE_VENV, "torchserve"), "--start", "--foreground", "--ncs"]
    cmd += ["--disable-token-auth", "--model-store", TORCHSERVE_STORE]
    cmd += ["--models", "model=model.mar", "--ts-config", config]
    env = {"PATH": os.path.join(TORCHSERVE_VENV, "bin") + os.pathsep + os.environ["PATH"]}
    return {"cmd": cmd, "env": env, "management_port": management}


def _mlserver(state: str, port: int, workers: int, model_dir: str, free_port) -> dict:
    repository = os.path.join(state, "models")
    os.makedirs(os.path.join(repository, "model"))
    settings = {
        "host": "127.0.0.1",
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": workers,
        "debug": False,
        "load_models_at_startup": True,
    }
    model_settings = {
        "name": "model",
        "implementation": "mlserver_runtime.BenchmarkRuntime",
        "parameters": {"uri": model_dir},
    }
    with open(os.path.join(repository, "settings.json"), "w") as handle:
        json.dump(settings, handle)
    with open(os.path.join(repository, "model", "model-settings.json"), "w") as handle:
        json.dump(model_settings, handle)
    cmd = [_venv_bin(MLSERVER_VENV, "mlserver"), "start", repository]
    return {"cmd": cmd, "env": {"PYTHONPATH": _python_path(model_dir)}, "management_port": None}


_COMMANDS = {"fastapi": _fastapi, "torchserve": _torchserve, "mlserver": _mlserver}


def command(stack: str, state: str, port: int, workers: int, model_dir: str, free_port) -> dict:
    """How to start a peer: {'cmd', 'env' (additions), 'management_port'} (None: the same port).

    ``free_port`` picks an unused port on 127.0.0.1 for the extra listeners some peers open
    (TorchServe's management and metrics APIs, MLServer's gRPC and metrics servers).
    """
    if stack not in _COMMANDS:
        raise ValueError("not a peer started here: %r" % stack)
    return _COMMANDS[stack](state, port, workers, model_dir, free_port)
