"""Train the example fruit classifier and write its artifact to ``model/model.npz``.

The data set is generated here (fixed seed, so every run gives the same model): four
measurements per fruit, three kinds of fruit. The model is a multinomial logistic regression
(a softmax over a linear function of the standardised features) fitted by gradient descent,
numpy only.

    python examples/fruit/train.py            # rewrites examples/fruit/model/model.npz
"""

import argparse
import os

import numpy as np

FEATURES = ("weight_g", "diameter_cm", "sugar_brix", "skin_roughness")
CLASSES = ("apple", "orange", "lemon")

# Per class: mean and spread of each feature, in the order of FEATURES.
_CLASS_MEANS = np.array(
    [
        [180.0, 7.5, 13.0, 0.15],  # apple: smooth, sweet
        [200.0, 8.0, 11.0, 0.70],  # orange: rough peel
        [110.0, 5.5, 3.0, 0.55],  # lemon: small, sour
    ]
)
_CLASS_SPREADS = np.array([18.0, 0.6, 1.5, 0.10])

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUTPUT = os.path.join(HERE, "model", "model.npz")


def make_dataset(samples_per_class: int = 200, seed: int = 7):
    """Return ``(features, labels)``: a float array of shape (n, 4) and int labels in [0, 3)."""
    rng = np.random.default_rng(seed)
    features = []
    labels = []
    for label, mean in enumerate(_CLASS_MEANS):
        features.append(rng.normal(mean, _CLASS_SPREADS, size=(samples_per_class, len(FEATURES))))
        labels.append(np.full(samples_per_class, label))
    return np.concatenate(features), np.concatenate(labels)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def train(features: np.ndarray, labels: np.ndarray, epochs: int = 500, learning_rate: float = 0.5):
    """Fit the classifier; return the arrays that ``model.npz`` stores."""
    mean = features.mean(axis=0)
    scale = features.std(axis=0)
    x = (features - mean) / scale
    targets = np.eye(len(CLASSES))[labels]
    weights = np.zeros((len(FEATURES), len(CLASSES)))
    bias = np.zeros(len(CLASSES))
    for _ in range(epochs):
        error = softmax(x @ weights + bias) - targets
        weights -= learning_rate * x.T @ error / len(x)
        bias -= learning_rate * error.mean(axis=0)
    return {
        "mean": mean,
        "scale": scale,
        "weights": weights,
        "bias": bias,
        "classes": np.array(CLASSES),
        "features": np.array(FEATURES),
    }


def accuracy(params: dict, features: np.ndarray, labels: np.ndarray) -> float:
    x = (features - params["mean"]) / params["scale"]
    predicted = (x @ params["weights"] + params["bias"]).argmax(axis=1)
    return float((predicted == labels).mean())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="where to write model.npz")
    args = parser.parse_args(argv)

    features, labels = make_dataset()
    params = train(features, labels)
    held_out_features, held_out_labels = make_dataset(samples_per_class=100, seed=8)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    np.savez(args.output, **params)
    print(
        "wrote %s (training accuracy %.3f, held-out accuracy %.3f)"
        % (
            args.output,
            accuracy(params, features, labels),
            accuracy(params, held_out_features, held_out_labels),
        )
    )


if __name__ == "__main__":
    main()
