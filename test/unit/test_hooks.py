"""hooks.HookCaller: bound hooks are planned once and called by either convention."""

import pytest

from sagemaker_inference import hooks, user_module


def bound(**given):
    names = dict.fromkeys(user_module.HOOK_ARGUMENTS)
    names.update(given)
    return names


def transform(model, input_data, content_type, accept, context=None):
    return "transform"


def test_bound_hooks_take_the_context_as_their_signature_says():
    caller = hooks.HookCaller()

    def with_context(data, model, context):
        return data, model, context

    def without(prediction, accept):
        return prediction, accept

    caller.bind(bound(predict_fn=with_context, output_fn=without), transform)
    assert caller.call(with_context, ("d", "m", "ctx"), None) == ("d", "m", "ctx")
    assert caller.call(with_context, ("d", "m"), "request-ctx") == ("d", "m", "request-ctx")
    assert caller.call(without, ("p", "a", "ctx"), None) == ("p", "a")
    assert caller.call(transform, (1, 2, 3, 4), "ctx") == "transform"


def test_bind_refuses_a_hook_with_the_wrong_signature():
    with pytest.raises(TypeError, match="must accept"):
        hooks.HookCaller().bind(bound(model_fn=lambda: None), transform)


def test_unbound_callables_are_called_literally():
    caller = hooks.HookCaller()
    assert caller.call(lambda a: a, (1, "ctx"), None) == 1
    assert caller.call(lambda a, c: (a, c), (1,), "ctx") == (1, "ctx")
    with pytest.raises(TypeError, match="takes 4 positional arguments"):
        caller.call(lambda a, b, c, d: a, (1,), "ctx")


def test_signatures_are_inspected_once_per_callable(monkeypatch):
    caller = hooks.HookCaller()

    def hook(a):
        return a

    caller.call(hook, (1,), None)
    monkeypatch.setattr(user_module, "arity", lambda f: pytest.fail("inspected again"))
    assert caller.call(hook, (2,), None) == 2
