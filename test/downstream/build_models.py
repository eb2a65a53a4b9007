"""Run in a downstream environment: build a small model and the framework's own answers for it.

    python build_models.py torch|hf|mxnet OUTPUT_DIR

Writes the model directories under OUTPUT_DIR and prints one JSON line with the inputs sent in
the tests and what the framework itself computes for them (torch's forward pass, transformers'
own pipeline, MXNet's Module.predict and Gluon forward), so the served answers can be compared
with them. Nothing is downloaded: models have random weights from a fixed seed and the tokenizer
is built from a small vocabulary file.
"""

import json
import os
import sys

ROWS = [[0.5, -1.25, 2.0, 3.5], [1.0, 0.0, -0.75, 0.25], [-2.0, 4.0, 0.125, -1.5]]

USER_TORCH_CODE = """
import os

import torch


def model_fn(model_dir):
    return torch.jit.load(os.path.join(model_dir, "model.pt"), map_location="cpu")


def predict_fn(data, model):
    with torch.no_grad():
        return torch.softmax(model(data) * 2.0, dim=1)
"""

GLUON_CODE = """
import os

from mxnet import gluon


def model_fn(model_dir):
    net = gluon.nn.Dense(3, in_units=4)
    net.load_parameters(os.path.join(model_dir, "dense.params"))
    return net
"""

WORDS = (
    "the a movie film was is great good bad terrible fine plot acting very not really and "
    "but i liked it hated boring fun long short music"
).split()
TEXTS = ["the movie was great", "i hated the plot and the acting", "not really fun"]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def build_torch(out):
    import torch

    torch.manual_seed(7)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    net.eval()
    scripted = torch.jit.script(net)
    for name in ("default", "user"):
        model_dir = os.path.join(out, name, "model")
        os.makedirs(model_dir, exist_ok=True)
        scripted.save(os.path.join(model_dir, "model.pt"))
    write(os.path.join(out, "user", "model", "code", "inference.py"), USER_TORCH_CODE)
    x = torch.tensor(ROWS, dtype=torch.float32)
    with torch.no_grad():
        output = scripted(x)
        user = torch.softmax(scripted(x) * 2.0, dim=1)
    return {"rows": ROWS, "output": output.tolist(), "user_output": user.tolist()}


def build_hf(out):
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast, pipeline

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
    vocab_file = os.path.join(out, "vocab.txt")
    write(vocab_file, "\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=vocab_file, do_lower_case=True)
    torch.manual_seed(11)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    model = BertForSequenceClassification(config).eval()
    single = os.path.join(out, "single", "model")
    multi = os.path.join(out, "multi", "models", "tiny-bert")
    for model_dir in (single, multi):
        model.save_pretrained(model_dir)
        tokenizer.save_pretrained(model_dir)
    classifier = pipeline("text-classification", model=single, tokenizer=single, device=-1)
    return {
        "texts": TEXTS,
        "single_model_dir": single,
        "multi_model_dir": multi,
        "pipeline_one": classifier(TEXTS[0]),
        "pipeline_many": classifier(TEXTS),
    }


def build_mxnet(out):
    import mxnet as mx
    import numpy as np

    mx.random.seed(5)
    np.random.seed(5)
    data = mx.sym.var("data")
    hidden = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=5, name="fc1"), "tanh")
    symbol = mx.sym.FullyConnected(hidden, num_hidden=3, name="fc2")
    module = mx.mod.Module(symbol, data_names=["data"], label_names=None)
    module.bind(data_shapes=[("data", (1, 4))], for_training=False)
    module.init_params(mx.init.Xavier())
    module_dir = os.path.join(out, "module", "model")
    os.makedirs(module_dir, exist_ok=True)
    module.save_checkpoint(os.path.join(module_dir, "model"), 0)
    write(
        os.path.join(module_dir, "model-shapes.json"),
        json.dumps([{"name": "data", "shape": [1, 4]}]),
    )
    # the toolkit imports the user module even when the defaults serve the model
    write(os.path.join(module_dir, "code", "inference.py"), '"""Defaults only."""\n')
    rows = mx.nd.array(ROWS)
    module_output = module.predict(mx.io.NDArrayIter(rows, batch_size=1)).asnumpy().tolist()

    net = mx.gluon.nn.Dense(3, in_units=4)
    net.initialize(mx.init.Xavier())
    gluon_dir = os.path.join(out, "gluon", "model")
    os.makedirs(gluon_dir, exist_ok=True)
    net.save_parameters(os.path.join(gluon_dir, "dense.params"))
    write(os.path.join(gluon_dir, "code", "inference.py"), GLUON_CODE)
    gluon_output = net(rows).asnumpy().tolist()
    return {"rows": ROWS, "module_output": module_output, "gluon_output": gluon_output}


def main():
    kind, out = sys.argv[1], sys.argv[2]
    builders = {"torch": build_torch, "hf": build_hf, "mxnet": build_mxnet}
    print(json.dumps(builders[kind](out)))


if __name__ == "__main__":
    main()
