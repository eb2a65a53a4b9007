"""Calling the bound hooks: how each takes MMS's context, worked out once at load.

A :class:`HookCaller` is told the hooks a Transformer bound (:meth:`HookCaller.bind` checks
their signatures and plans each call); :meth:`HookCaller.call` then runs a hook with no
signature inspection. Hooks it was not told about are inspected once and remembered.
"""

from typing import Any, Callable, Dict, Mapping, Optional, Tuple

from sagemaker_inference import user_module

_POSITIONAL, _KEYWORD = user_module.POSITIONAL_CONTEXT, user_module.KEYWORD_CONTEXT


def _lookup(cache: Dict[Any, Any], key: Any) -> Any:
    """``cache.get(key)``, None for an unhashable key (such callables are not cached)."""
    try:
        return cache.get(key)
    except TypeError:
        return None


def _remember(cache: Dict[Any, Any], key: Any, value: Any) -> None:
    try:
        cache[key] = value
    except TypeError:
        pass


class HookCaller(object):
    """Runs hooks with or without the context, as their signatures take it."""

    def __init__(self) -> None:
        self.arities: Dict[Any, Tuple[int, float]] = {}
        self.plans: Dict[Any, int] = {}
        self.sizes: Dict[Any, int] = {}

    def bind(self, hooks: Mapping[str, Optional[Callable]], transform: Callable) -> None:
        """Check the hooks (by HOOK_ARGUMENTS name) and plan their calls, plus ``transform``
        (a Transformer's ``_default_transform_fn``). Raises TypeError for a hook whose
        signature cannot take its arguments."""
        for name, hook in hooks.items():
            if hook is not None:
                _remember(self.arities, hook, user_module.check_hook_signature(hook, name))
        self.arity(transform)
        self.sizes = {}
        bound = [(hooks[name], len(args)) for name, args in user_module.HOOK_ARGUMENTS.items()]
        bound.append((transform, len(user_module.HOOK_ARGUMENTS["transform_fn"])))
        for hook, size in bound:
            if hook is None:
                continue
            try:
                self.sizes.setdefault(hook, size)
                self.plans[(hook, size)] = user_module.checked_context_plan(hook, size)
            except TypeError:  # unhashable callable: planned at call time
                pass

    def arity(self, func: Callable) -> Tuple[int, float]:
        """``user_module.arity(func)``, inspected once per callable."""
        arity = _lookup(self.arities, func)
        if arity is None:
            arity = user_module.arity(func)
            _remember(self.arities, func, arity)
        return arity

    def call(self, func: Callable, argv: Tuple[Any, ...], context: Any) -> Any:
        """``func`` with ``argv``, the context given as its plan says.

        Two calling conventions work: this library's, where the context is the last item of
        ``argv`` (``func(data, model, context)``), and 1.10.1's, where ``argv`` holds only the
        hook's own arguments and ``context`` (the request's or the load's) is added. Which one a
        call uses is told from the number of arguments for the bound hooks, and otherwise from
        whether the last item is ``context``.
        """
        try:
            size = self.sizes.get(func)
        except TypeError:  # unhashable callable
            size = None
        if size is not None and len(argv) == size + 1:
            base, context = argv[:-1], argv[-1]
        elif size is not None and len(argv) == size:
            base = argv
        elif argv and context is not None and argv[-1] is context:
            base = argv[:-1]
        else:
            return self.call_literally(func, argv, context)
        try:
            plan = self.plans.get((func, len(base)))
        except TypeError:
            plan = None
        if plan is None:
            plan = user_module.checked_context_plan(func, len(base))
            _remember(self.plans, (func, len(base)), plan)
        if plan == _POSITIONAL:
            return func(*base, context)
        if plan == _KEYWORD:
            return func(*base, context=context)
        return func(*base)

    def call_literally(self, func: Callable, argv: Tuple[Any, ...], context: Any) -> Any:
        """A callable that was not bound, without a known context among ``argv``: all of
        ``argv`` when ``func`` takes that many, else without the last item, else with the
        context added (1.10.1's rule for a function with one more parameter)."""
        required, maximum = self.arity(func)
        count = len(argv)
        if required <= count <= maximum:
            return func(*argv)
        if count and required <= count - 1 <= maximum:
            return func(*argv[:-1])
        if required == count + 1:
            return func(*argv, context)
        raise TypeError(
            "{} takes {} positional arguments but is called with {}".format(
                user_module.describe(func), required, count
            )
        )
