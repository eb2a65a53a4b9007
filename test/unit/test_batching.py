import warnings

import numpy as np
import pytest

from sagemaker_inference import batching


def test_stack_key_is_dtype_and_trailing_shape():
    assert batching.stack_key(np.zeros((3, 4))) == (np.dtype("float64"), (4,))
    assert batching.stack_key(np.zeros((1, 4))) == batching.stack_key(np.ones((7, 4)))
    assert batching.stack_key(np.zeros((1, 4))) != batching.stack_key(np.zeros((1, 5)))
    assert batching.stack_key(np.zeros((1, 4))) != batching.stack_key(np.zeros((1, 4), "f4"))


@pytest.mark.parametrize(
    "value",
    [
        np.float64(1.0),
        np.array(3.0),
        np.array([{"a": 1}], dtype=object),
        [[1, 2]],
        {"inputs": "text"},
        "text",
        None,
    ],
)
def test_values_that_cannot_be_stacked(value):
    assert batching.stack_key(value) is None


def test_numpy_matrices_are_not_stacked():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        matrix = np.matrix([[1, 2]])
    assert batching.stack_key(matrix) is None
    assert batching.split(matrix, [1]) is None


def test_plan_groups_compatible_arrays_and_leaves_the_rest_single():
    inputs = [
        np.zeros((2, 3)),  # 0: group A
        "text",  # 1: single (not an array)
        np.zeros((1, 3)),  # 2: group A
        np.zeros((1, 5)),  # 3: group B
        np.zeros((4, 3), dtype="int64"),  # 4: alone with its dtype -> single
        np.zeros((3, 5)),  # 5: group B
        np.zeros((5, 3)),  # 6: group A
    ]
    groups, singles = batching.plan_groups(inputs)
    assert sorted(groups) == [[0, 2, 6], [3, 5]]
    assert singles == [1, 4]


def test_plan_groups_of_one_input_is_single():
    assert batching.plan_groups([np.zeros((2, 2))]) == ([], [0])
    assert batching.plan_groups([]) == ([], [])


def test_stack_then_split_gives_back_each_request_rows():
    arrays = [np.arange(6.0).reshape(2, 3), np.arange(3.0).reshape(1, 3) + 100, np.zeros((0, 3))]
    stacked = batching.stack(arrays)
    assert stacked.shape == (3, 3)
    pieces = batching.split(stacked * 2, [a.shape[0] for a in arrays])
    assert len(pieces) == 3
    for piece, array in zip(pieces, arrays):
        np.testing.assert_array_equal(piece, array * 2)
        assert piece.dtype == array.dtype


def test_split_keeps_the_prediction_trailing_shape_and_dtype():
    prediction = np.arange(10, dtype="int32").reshape(5, 2)
    first, second = batching.split(prediction, [2, 3])
    assert first.shape == (2, 2) and second.shape == (3, 2)
    assert first.dtype == np.int32
    np.testing.assert_array_equal(second, [[4, 5], [6, 7], [8, 9]])


def test_split_lists_and_tuples_by_rows():
    assert batching.split(["a", "b", "c"], [1, 2]) == [["a"], ["b", "c"]]
    assert batching.split((1, 2, 3), [2, 1]) == [(1, 2), (3,)]


@pytest.mark.parametrize(
    "prediction",
    [
        np.zeros((4, 2)),  # one row short
        np.zeros((6,)),  # one too many
        np.float64(3.0),
        np.array(1.0),
        {"label": [1, 2, 3, 4, 5]},
        "text",
        [1, 2],
    ],
)
def test_split_refuses_predictions_not_aligned_with_the_rows(prediction):
    assert batching.split(prediction, [2, 3]) is None


# ---- predicting a batch -------------------------------------------------------------------------


def _one_by_one(values):
    return lambda position: (True, ("alone", values[position]), "")


def test_predict_stacked_predicts_each_group_once_and_splits_it():
    values = [np.ones((2, 3)), np.zeros((1, 3)), "text"]
    calls = []

    def predict(stacked):
        calls.append(stacked.shape)
        return stacked.sum(axis=1)

    outcomes = batching.predict_stacked(values, predict, _one_by_one(values), pytest.fail)
    assert calls == [(3, 3)]
    assert outcomes[0][1].tolist() == [3.0, 3.0] and outcomes[1][1].tolist() == [0.0]
    assert outcomes[2] == (True, ("alone", "text"), "")


def test_predict_stacked_falls_back_when_the_prediction_cannot_be_split():
    values = [np.ones((2, 3)), np.ones((2, 3))]
    reported = []
    outcomes = batching.predict_stacked(
        values, lambda stacked: 7, _one_by_one(values), lambda p, rows: reported.append(rows)
    )
    assert reported == [4]
    assert [outcome[1][0] for outcome in outcomes.values()] == ["alone", "alone"]


def test_predict_with_batch_hook_once_or_one_by_one():
    values = [1, 2]
    outcomes = batching.predict_with_batch_hook(values, lambda xs: [x * 10 for x in xs], None)
    assert outcomes == {0: (True, 10, ""), 1: (True, 20, "")}

    def failing(xs):
        raise RuntimeError("batch")

    outcomes = batching.predict_with_batch_hook(values, failing, _one_by_one(values))
    assert outcomes[1] == (True, ("alone", 2), "")


def test_checked_predictions_and_outcome_of():
    assert batching.checked_predictions((1, 2), 2) == [1, 2]
    with pytest.raises(TypeError, match="one prediction per input"):
        batching.checked_predictions([1], 2)
    ok, exc, trace = batching.outcome_of(int, "x")
    assert not ok and isinstance(exc, ValueError) and "Traceback" in trace
