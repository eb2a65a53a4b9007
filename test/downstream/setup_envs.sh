#!/usr/bin/env bash
# Build the virtual environments the downstream tests run the real framework toolkits in.
#
#   bash test/downstream/setup_envs.sh [torch|mxnet|all]     (default: all)
#
# Each environment lives under test/downstream/.envs/ (ignored by git) and holds this repository
# installed in editable mode plus one set of toolkits installed unmodified with --no-deps, then
# the runtime dependencies those toolkits really import, pinned by hand:
#   torch: CPU torch (see build_torch), transformers<5, sagemaker-pytorch-inference 2.0.25 and
#          sagemaker-huggingface-inference-toolkit 2.6.0 (on this machine's python3);
#   mxnet: mxnet 1.9.1 with numpy<1.24 and sagemaker-mxnet-inference 1.5.5 (on a Python that
#          has mxnet 1.9.1 wheels: $DOWNSTREAM_MXNET_PYTHON, default pyenv's 3.9.18).
# An environment that is complete (its .ready file holds its stamp) is left as it is.
# Downloads go through pip's normal cache. Exit status is non-zero when an install fails; the
# failing environment gets no .ready file and its log is under .envs/<name>.log. When the
# failure is a package that no index offers (pip: "No matching distribution"), .envs/<name>.missing
# names it: the tests skip that environment with this reason, and fail on any other failure.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ENVS="${DOWNSTREAM_ENVS:-$HERE/.envs}"
# Bump an environment's stamp when what it holds changes: it is rebuilt when its .ready differs.
stamp() {
    case "$1" in
        torch) echo "torch-2" ;;
        mxnet) echo "mxnet-3" ;;
    esac
}
mkdir -p "$ENVS"

fresh_venv() {  # name python
    local dir="$ENVS/$1"
    if ! command -v "$2" >/dev/null 2>&1; then
        echo "No matching distribution found for the Python interpreter $2 (not installed)"
        return 1
    fi
    rm -rf "$dir"
    "$2" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade "pip<25" setuptools wheel
}

drop_bundled_copy() {  # name: the pytorch sdist ships its own trimmed sagemaker_inference
    local dir="$ENVS/$1"
    local site
    site="$("$dir/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    if [ -d "$site/sagemaker_inference" ]; then
        rm -rf "$site/sagemaker_inference"
    fi
}

build_torch() {
    local dir="$ENVS/torch" pip
    fresh_venv torch "${DOWNSTREAM_TORCH_PYTHON:-python3}"
    pip="$dir/bin/python -m pip install -q --disable-pip-version-check"
    # A CPU build: $DOWNSTREAM_TORCH_SPEC, else the CPU wheel this machine's pip configuration
    # serves (find-links), else PyTorch's CPU index. A plain "torch" from PyPI is the CUDA build.
    if [ -n "${DOWNSTREAM_TORCH_SPEC:-}" ]; then
        $pip "$DOWNSTREAM_TORCH_SPEC"
    elif ! $pip "torch==2.13.0+cpu"; then
        $pip torch --index-url https://download.pytorch.org/whl/cpu
    fi
    $pip "transformers<5" "tokenizers" "huggingface_hub" "safetensors" "Pillow" "retrying" \
        "pytest" "pytest-timeout" "requests" "psutil"
    $pip --no-deps "sagemaker-pytorch-inference==2.0.25" \
        "sagemaker-huggingface-inference-toolkit==2.6.0"
    drop_bundled_copy torch
    $pip -e "$REPO"
    drop_bundled_copy torch
    "$dir/bin/python" - "$REPO" <<'PY'
import os
import sys

import sagemaker_inference

src = os.path.join(sys.argv[1], "src", "sagemaker_inference")
assert os.path.samefile(os.path.dirname(sagemaker_inference.__file__), src), sagemaker_inference
import sagemaker_huggingface_inference_toolkit.serving  # noqa: F401
import sagemaker_pytorch_serving_container.handler_service  # noqa: F401
PY
}

build_mxnet() {
    local dir="$ENVS/mxnet" pip
    local py="${DOWNSTREAM_MXNET_PYTHON:-/root/.pyenv/versions/3.9.18/bin/python3}"
    fresh_venv mxnet "$py"
    pip="$dir/bin/python -m pip install -q --disable-pip-version-check"
    $pip "mxnet==1.9.1" "numpy<1.24" "retrying==1.3.3" "pytest" "pytest-timeout" "requests" "psutil"
    $pip --no-deps "sagemaker-mxnet-inference==1.5.5"
    $pip -e "$REPO" "numpy<1.24"
    "$dir/bin/python" - "$REPO" <<'PY'
import os
import sys

import sagemaker_inference

src = os.path.join(sys.argv[1], "src", "sagemaker_inference")
assert os.path.samefile(os.path.dirname(sagemaker_inference.__file__), src), sagemaker_inference
import sagemaker_mxnet_serving_container.serving  # noqa: F401
PY
}

build() {  # name
    local name="$1"
    if [ -f "$ENVS/$name/.ready" ] && [ "$(cat "$ENVS/$name/.ready")" = "$(stamp "$name")" ]; then
        echo "downstream env $name: ready"
        return 0
    fi
    echo "downstream env $name: building (log in $ENVS/$name.log)"
    rm -f "$ENVS/$name.missing"
    # A new bash runs the build: called from "build x || ...", bash would ignore set -e in
    # any function or subshell here, and a failed step would not stop the build.
    if bash "$HERE/setup_envs.sh" --build-one "$name" >"$ENVS/$name.log" 2>&1; then
        stamp "$name" >"$ENVS/$name/.ready"
        echo "downstream env $name: done"
    else
        echo "downstream env $name: FAILED, last lines of $ENVS/$name.log:" >&2
        tail -n 20 "$ENVS/$name.log" >&2
        grep -h "No matching distribution found for" "$ENVS/$name.log" | tail -n 1 \
            >"$ENVS/$name.missing" || rm -f "$ENVS/$name.missing"
        return 1
    fi
}

if [ "${1:-}" = "--build-one" ]; then
    "build_$2"
    exit 0
fi

status=0
case "${1:-all}" in
    torch) build torch || status=1 ;;
    mxnet) build mxnet || status=1 ;;
    all) build torch || status=1; build mxnet || status=1 ;;
    *) echo "usage: $0 [torch|mxnet|all]" >&2; exit 2 ;;
esac
exit $status
