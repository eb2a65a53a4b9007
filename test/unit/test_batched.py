"""batched.BatchedPrediction: the steps of a batch, on a Transformer opted in to it."""

import textwrap

from fake_mms import FakeContext, batch
from sagemaker_inference.batched import BatchedPrediction
from sagemaker_inference.transformer import Transformer

JSON = {"Content-Type": "application/json", "Accept": "application/json"}

BATCH_HOOK = """
def model_fn(model_dir):
    return None

def predict_batch_fn(inputs, model):
    if any(len(x) > 2 for x in inputs):
        raise ValueError("too long")
    return [x.sum() for x in inputs]
"""


def loaded(tmp_path, source):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "inference.py").write_text(textwrap.dedent(source))
    service = Transformer()
    service.validate_and_initialize(model_dir=str(tmp_path), context=FakeContext(str(tmp_path)))
    return service


def test_transformer_is_a_batched_prediction():
    assert issubclass(Transformer, BatchedPrediction)


def test_one_failing_input_fails_alone(tmp_path, isolated_imports):
    service = loaded(tmp_path, BATCH_HOOK)
    context = FakeContext(str(tmp_path), headers=[JSON, JSON, JSON])
    result = service.transform(batch(b"[1, 2]", b"[1, 2, 3]", b"not json"), context)
    assert result[0] == "3"
    assert [context.get_response_status(i)[0] for i in range(3)] == [200, 500, 400]
