"""user_module: finding hooks, the batch_stacking opt-in, and signature checks."""

import types

import pytest

from sagemaker_inference import user_module


def module(**attributes):
    made = types.ModuleType("inference")
    made.__file__ = "/opt/ml/model/code/inference.py"
    for name, value in attributes.items():
        setattr(made, name, value)
    return made


def test_find_hooks_maps_every_name():
    def model_fn(model_dir):
        return None

    hooks = user_module.find_hooks(module(model_fn=model_fn))
    assert set(hooks) == set(user_module.HOOK_ARGUMENTS)
    assert hooks["model_fn"] is model_fn and hooks["input_fn"] is None
    assert all(hook is None for hook in user_module.find_hooks(None).values())


def test_a_hook_must_be_callable():
    with pytest.raises(TypeError, match="predict_fn in .*inference.py is a int"):
        user_module.find_hooks(module(predict_fn=3))


def test_transform_fn_replaces_the_pipeline_hooks():
    with pytest.raises(ValueError, match="transform_fn together with input_fn"):
        user_module.find_hooks(module(transform_fn=len, input_fn=len))


@pytest.mark.parametrize("value, expected", [(None, False), (True, True), (False, False)])
def test_batch_stacking(value, expected):
    attributes = {} if value is None else {"batch_stacking": value}
    assert user_module.batch_stacking(module(**attributes)) is expected


def test_batch_stacking_must_be_a_bool():
    with pytest.raises(TypeError, match="must be True or False"):
        user_module.batch_stacking(module(batch_stacking="yes"))


def test_arity_and_signature_checks():
    assert user_module.arity(lambda a, b=1, *rest: a) == (1, float("inf"))
    assert user_module.check_hook_signature(lambda data, model: 0, "predict_fn") == (2, 2)
    with pytest.raises(TypeError, match="must accept \\(data, model\\)"):
        user_module.check_hook_signature(lambda data: 0, "predict_fn")
    with pytest.raises(TypeError, match="keyword-only"):
        user_module.arity(lambda a, *, b: a)


@pytest.mark.parametrize(
    "function, plan",
    [
        (lambda d, context: 0, user_module.POSITIONAL_CONTEXT),
        (lambda d, *args: 0, user_module.POSITIONAL_CONTEXT),
        (lambda d, batch=1, context=None: 0, user_module.KEYWORD_CONTEXT),
        (lambda d, batch=1: 0, user_module.NO_CONTEXT),
    ],
)
def test_context_plan(function, plan):
    assert user_module.context_plan(function, 1) == plan


def test_checked_context_plan_refuses_a_call_that_does_not_fit():
    with pytest.raises(TypeError, match="takes 3 positional arguments"):
        user_module.checked_context_plan(lambda a, b, c: 0, 1)


def test_raised_in_and_describe():
    def failing():
        raise ValueError("x")

    try:
        failing()
    except ValueError as exc:
        assert user_module.raised_in(exc, failing)
        assert not user_module.raised_in(exc, len)
    assert "failing (" in user_module.describe(failing)
    assert user_module.describe(len) == "len"


def test_import_user_module_absent_everywhere(tmp_path):
    assert user_module.import_user_module("no_such_module_anywhere_xyz", str(tmp_path)) is None
