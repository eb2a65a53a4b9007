"""Stacking the decoded inputs of an MMS batch into one array, and splitting the prediction.

Used by the Transformer when the user opts in to stacking (``batch_stacking = True`` in the
user module or on the inference handler): inputs that are numpy arrays with the same dtype and
the same shape after the first axis are concatenated along that axis, ``predict_fn`` runs once
on the result, and the prediction is cut back into one piece per request by each request's row
count. Anything that cannot take part (not an array, a 0-d array, an object array, or the only
input of its shape) is predicted on its own.
"""

import sys
import traceback
from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np

from sagemaker_inference import logging as sm_logging
from sagemaker_inference.errors import one_line

logger = sm_logging.get_logger()


def stack_key(value: Any) -> Optional[Hashable]:
    """What inputs must share to be stacked with ``value``: its dtype and its shape after the
    first axis; None when ``value`` cannot be stacked at all."""
    if not isinstance(value, np.ndarray) or isinstance(value, np.matrix):
        return None
    if value.ndim == 0 or value.dtype.hasobject:
        return None
    return (value.dtype, value.shape[1:])


def plan_groups(inputs: Sequence[Any]) -> Tuple[List[List[int]], List[int]]:
    """Split the positions of ``inputs`` into stackable groups and singles.

    Returns ``(groups, singles)``: each group lists, in order, two or more positions whose
    inputs share a :func:`stack_key`; ``singles`` are the other positions, to be predicted one
    by one.
    """
    by_key: "dict[Hashable, List[int]]" = {}
    singles: List[int] = []
    for position, value in enumerate(inputs):
        key = stack_key(value)
        if key is None:
            singles.append(position)
        else:
            by_key.setdefault(key, []).append(position)
    groups: List[List[int]] = []
    for members in by_key.values():
        if len(members) > 1:
            groups.append(members)
        else:
            singles.extend(members)
    singles.sort()
    return groups, singles


def stack(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """One array holding the rows of ``arrays`` in order (they share a :func:`stack_key`)."""
    return np.concatenate(arrays, axis=0)


def split(prediction: Any, row_counts: Sequence[int]) -> Optional[List[Any]]:
    """``prediction`` cut into consecutive pieces of ``row_counts`` rows along its first axis.

    A numpy array gives views of itself, a list or tuple gives slices of the same type. None
    when the prediction has no first axis of ``sum(row_counts)`` rows: it cannot be attributed
    to the requests, and the caller predicts them one by one instead.
    """
    total = sum(row_counts)
    if isinstance(prediction, np.ndarray) and not isinstance(prediction, np.matrix):
        if prediction.ndim == 0 or prediction.shape[0] != total:
            return None
    elif isinstance(prediction, (list, tuple)):
        if len(prediction) != total:
            return None
    else:
        return None
    pieces = []
    start = 0
    for count in row_counts:
        pieces.append(prediction[start : start + count])
        start += count
    return pieces


# ---- predicting a batch ----------------------------------------------------------------------
# An outcome is ``(True, prediction, "")`` or ``(False, exception, traceback)``; the functions
# below map each position of ``values`` to one, so that only a bad request fails.

Outcome = Tuple[bool, Any, str]


def _failure() -> Outcome:
    exc = sys.exc_info()[1]
    return False, exc, traceback.format_exc()


def _warn_retry(failed: str, count: int, exc: Exception, then: str) -> None:
    logger.warning("%s (%s: %s); %s", failed % count, type(exc).__name__, one_line(exc), then)


def predict_stacked(
    values: Sequence[Any],
    predict: Callable[[Any], Any],
    predict_one: Callable[[int], Outcome],
    on_unsplittable: Callable[[Any, int], None],
) -> Dict[int, Outcome]:
    """``predict`` once per group of stackable arrays, split by each input's row count.

    The other positions, and every member of a group whose call failed or whose prediction
    cannot be split (reported to ``on_unsplittable(prediction, rows)``), go through
    ``predict_one(position)`` one by one.
    """
    groups, singles = plan_groups(values)
    outcomes: Dict[int, Outcome] = {}
    for group in groups:
        arrays = [values[position] for position in group]
        rows = [array.shape[0] for array in arrays]
        try:
            prediction = predict(stack(arrays))
        except Exception as exc:
            _warn_retry(
                "predict_fn failed on %d stacked requests",
                len(group),
                exc,
                "predicting them one by one",
            )
            singles.extend(group)
            continue
        pieces = split(prediction, rows)
        if pieces is None:
            on_unsplittable(prediction, sum(rows))
            singles.extend(group)
            continue
        for position, piece in zip(group, pieces):
            outcomes[position] = (True, piece, "")
    for position in sorted(singles):
        outcomes[position] = predict_one(position)
    return outcomes


def predict_with_batch_hook(
    values: Sequence[Any],
    predict_batch: Callable[[List[Any]], List[Any]],
    predict_one: Callable[[int], Outcome],
) -> Dict[int, Outcome]:
    """``predict_batch(values)`` once (it raises unless it returns one prediction per input);
    when that fails, or for a single value, ``predict_one(position)`` for each position."""
    if len(values) > 1:
        try:
            predictions = predict_batch(list(values))
        except Exception as exc:
            _warn_retry(
                "predict_batch_fn failed on %d requests", len(values), exc, "calling it per request"
            )
        else:
            return {position: (True, p, "") for position, p in enumerate(predictions)}
    return {position: predict_one(position) for position in range(len(values))}


def checked_predictions(predictions: Any, count: int) -> List[Any]:
    """``predictions`` as a list; TypeError unless it is a list or tuple of ``count`` items."""
    if not isinstance(predictions, (list, tuple)) or len(predictions) != count:
        got = (
            "{} of length {}".format(type(predictions).__name__, len(predictions))
            if isinstance(predictions, (list, tuple))
            else "a {}".format(type(predictions).__name__)
        )
        raise TypeError(
            "predict_batch_fn must return a list with one prediction per input "
            "({} inputs); it returned {}".format(count, got)
        )
    return list(predictions)


def outcome_of(call: Callable[..., Any], *args: Any) -> Outcome:
    """``call(*args)``'s outcome: its value, or the exception it raised and the traceback."""
    try:
        return True, call(*args), ""
    except Exception:
        return _failure()
