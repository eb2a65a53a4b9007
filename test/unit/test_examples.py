"""The example model: its training script reproduces the committed artifact, and it predicts."""

import importlib.util
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "fruit")
MODEL_DIR = os.path.join(EXAMPLE, "model")


def load_train_module():
    spec = importlib.util.spec_from_file_location("fruit_train", os.path.join(EXAMPLE, "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_artifact_is_small():
    sizes = [
        os.path.getsize(os.path.join(dirpath, name))
        for dirpath, _, names in os.walk(MODEL_DIR)
        for name in names
        if "__pycache__" not in dirpath
    ]
    assert sum(sizes) < 16 * 1024


def test_training_reproduces_the_committed_artifact(tmp_path):
    train = load_train_module()
    output = tmp_path / "model.npz"
    train.main(["--output", str(output)])
    with np.load(output) as fresh, np.load(os.path.join(MODEL_DIR, "model.npz")) as committed:
        assert sorted(fresh.files) == sorted(committed.files)
        for name in fresh.files:
            if fresh[name].dtype.kind in "fc":
                np.testing.assert_allclose(fresh[name], committed[name], rtol=1e-9, atol=1e-12)
            else:
                assert fresh[name].tolist() == committed[name].tolist()


def test_artifact_loads_without_pickle():
    with np.load(os.path.join(MODEL_DIR, "model.npz"), allow_pickle=False) as artifact:
        assert artifact["classes"].tolist() == ["apple", "orange", "lemon"]


def test_held_out_accuracy():
    train = load_train_module()
    features, labels = train.make_dataset(samples_per_class=100, seed=123)
    with np.load(os.path.join(MODEL_DIR, "model.npz")) as artifact:
        params = {name: artifact[name] for name in artifact.files}
    assert train.accuracy(params, features, labels) > 0.95


@pytest.mark.parametrize(
    "row, label",
    [
        ([182, 7.4, 12.9, 0.2], "apple"),
        ([205, 8.1, 10.5, 0.75], "orange"),
        ([105, 5.4, 2.5, 0.5], "lemon"),
    ],
)
def test_inference_hooks_directly(row, label):
    spec = importlib.util.spec_from_file_location(
        "fruit_inference", os.path.join(MODEL_DIR, "code", "inference.py")
    )
    inference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(inference)
    model = inference.model_fn(MODEL_DIR)
    rows = inference.input_fn(str([row]), "application/json")
    body, content_type = inference.output_fn(inference.predict_fn(rows, model), "text/csv")
    assert (body, content_type) == (label + "\n", "text/csv")
