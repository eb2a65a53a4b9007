"""Stacking the decoded inputs of an MMS batch into one array, and splitting the prediction.

Used by the Transformer when the user opts in to stacking (``batch_stacking = True`` in the
user module or on the inference handler): inputs that are numpy arrays with the same dtype and
the same shape after the first axis are concatenated along that axis, ``predict_fn`` runs once
on the result, and the prediction is cut back into one piece per request by each request's row
count. Anything that cannot take part (not an array, a 0-d array, an object array, or the only
input of its shape) is predicted on its own.
"""

from typing import Any, Hashable, List, Optional, Sequence, Tuple

import numpy as np


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
