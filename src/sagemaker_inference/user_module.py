"""The user module (``inference.py``): importing it, finding its hooks, checking signatures.

Everything here runs once, when a model loads. :func:`import_user_module` finds the module in
``<model_dir>/code`` (or on sys.path); :func:`find_hooks` reads the hooks it defines and refuses
what cannot work; :func:`arity` and :func:`context_plan` say how a hook is called, so that
calling it per request needs no inspection.
"""

import importlib
import importlib.util
import inspect
import os
import sys
from types import ModuleType
from typing import Any, Callable, Dict, Optional, Tuple

from sagemaker_inference import logging as sm_logging

logger = sm_logging.get_logger()

# Positional arguments of each user hook, not counting the optional trailing ``context``.
HOOK_ARGUMENTS = {
    "pre_model_fn": ("model_dir",),
    "model_fn": ("model_dir",),
    "model_warmup_fn": ("model_dir", "model"),
    "input_fn": ("input_data", "content_type"),
    "predict_fn": ("data", "model"),
    "predict_batch_fn": ("inputs", "model"),
    "output_fn": ("prediction", "accept"),
    "transform_fn": ("model", "input_data", "content_type", "accept"),
}
PIPELINE_HOOKS = ("input_fn", "predict_fn", "predict_batch_fn", "output_fn")
# Module attribute of the user module that opts in to stacking array inputs of a batch.
BATCH_STACKING_ATTRIBUTE = "batch_stacking"

# How a hook receives the context (see context_plan).
NO_CONTEXT, POSITIONAL_CONTEXT, KEYWORD_CONTEXT = 0, 1, 2


# ---- importing -----------------------------------------------------------------------------


def _module_file(code_dir: str, module_name: str) -> Optional[str]:
    relative = os.path.join(*module_name.split("."))
    for candidate in (
        os.path.join(code_dir, relative + ".py"),
        os.path.join(code_dir, relative, "__init__.py"),
    ):
        if os.path.isfile(candidate):
            return candidate
    return None


def _same_file(a: Optional[str], b: str) -> bool:
    if not a:
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _put_first_on_path(directory: str) -> None:
    if sys.path and sys.path[0] == directory:
        return
    while directory in sys.path:
        sys.path.remove(directory)
    sys.path.insert(0, directory)
    importlib.invalidate_caches()


def _load_module_from_file(module_name: str, path: str) -> ModuleType:
    package_dir = [os.path.dirname(path)] if path.endswith("__init__.py") else None
    spec = importlib.util.spec_from_file_location(
        module_name, path, submodule_search_locations=package_dir
    )
    if spec is None or spec.loader is None:
        raise ImportError("cannot load {} from {}".format(module_name, path))
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
        raise
    return module


def _import_from_sys_path(module_name: str) -> Optional[ModuleType]:
    try:
        if importlib.util.find_spec(module_name) is None:
            return None
    except (ImportError, ValueError):
        return None
    return importlib.import_module(module_name)


def import_user_module(module_name: str, model_dir: str) -> Optional[ModuleType]:
    """Import the user module from ``<model_dir>/code``, or from sys.path when it is not there.

    ``<model_dir>/code`` goes first on sys.path so that the module's sibling imports work. When a
    module of the same name is already imported from somewhere else (another model's code, an
    installed package), the file in this model's code directory is loaded in its place.
    Returns None when there is no such module anywhere (the default hooks apply).
    """
    code_dir = os.path.join(model_dir, "code")
    path = None
    if os.path.isdir(code_dir):
        _put_first_on_path(code_dir)
        path = _module_file(code_dir, module_name)
    if path is None:
        return _import_from_sys_path(module_name)
    existing = sys.modules.get(module_name)
    if existing is not None and _same_file(getattr(existing, "__file__", None), path):
        return existing
    if existing is None:
        module = importlib.import_module(module_name)
        if _same_file(getattr(module, "__file__", None), path):
            return module
    elif "." in module_name:
        raise ImportError(
            "module {} is already imported from {}; cannot also load {}".format(
                module_name, getattr(existing, "__file__", "?"), path
            )
        )
    logger.info(
        "Loading %s from %s (replacing the module of that name from elsewhere)", module_name, path
    )
    return _load_module_from_file(module_name, path)


# ---- finding hooks -------------------------------------------------------------------------


def _where(module: Optional[ModuleType]) -> Any:
    return getattr(module, "__file__", module)


def find_hooks(module: Optional[ModuleType]) -> Dict[str, Optional[Callable]]:
    """Every hook name of HOOK_ARGUMENTS mapped to the module's function, or None.

    Raises TypeError for a hook that is not callable and ValueError when ``transform_fn`` comes
    with any of the hooks it replaces.
    """
    hooks: Dict[str, Optional[Callable]] = {}
    for name in HOOK_ARGUMENTS:
        hook = getattr(module, name, None) if module is not None else None
        if hook is not None and not callable(hook):
            raise TypeError(
                "{} in {} is a {}, not a function".format(name, _where(module), type(hook).__name__)
            )
        hooks[name] = hook
    if hooks["transform_fn"] is not None:
        clashing = [name for name in PIPELINE_HOOKS if hooks[name] is not None]
        if clashing:
            raise ValueError(
                "{} defines transform_fn together with {}: transform_fn replaces "
                "input_fn, predict_fn and output_fn, so define either transform_fn alone "
                "or any of the other three".format(_where(module), ", ".join(clashing))
            )
    return hooks


def batch_stacking(module: Optional[ModuleType]) -> bool:
    """The module's ``batch_stacking`` opt-in (False when absent); TypeError unless a bool."""
    stacking = getattr(module, BATCH_STACKING_ATTRIBUTE, False) if module is not None else False
    if not isinstance(stacking, bool):
        raise TypeError(
            "{} in {} must be True or False, not {!r}".format(
                BATCH_STACKING_ATTRIBUTE, _where(module), stacking
            )
        )
    return stacking


# ---- signatures ----------------------------------------------------------------------------


def describe(func: Callable) -> str:
    """``func``'s name and where it is defined, for error messages."""
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    code = getattr(inspect.unwrap(getattr(func, "__func__", func)), "__code__", None)
    if code is not None:
        return "{} ({}:{})".format(name, code.co_filename, code.co_firstlineno)
    return name


def arity(func: Callable) -> Tuple[int, float]:
    """(required, maximum) positional arguments ``func`` accepts; maximum is inf for *args."""
    signature = inspect.signature(func)
    required = 0
    maximum: float = 0
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            maximum += 1
            if parameter.default is parameter.empty:
                required += 1
        elif parameter.kind is parameter.VAR_POSITIONAL:
            maximum = float("inf")
        elif parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty:
            raise TypeError(
                "{} has a required keyword-only argument {!r}; hooks are called with "
                "positional arguments only".format(describe(func), parameter.name)
            )
    return required, maximum


def check_hook_signature(hook: Callable, name: str) -> Tuple[int, float]:
    """``arity(hook)``; TypeError unless it takes hook ``name``'s arguments, with or without
    a trailing context."""
    arguments = HOOK_ARGUMENTS[name]
    required, maximum = arity(hook)
    if not (required <= len(arguments) + 1 and maximum >= len(arguments)):
        raise TypeError(
            "{} must accept ({}) or ({}, context)".format(
                describe(hook), ", ".join(arguments), ", ".join(arguments)
            )
        )
    return required, maximum


def context_plan(func: Callable, base_count: int) -> int:
    """How ``func``, called with ``base_count`` positional arguments, takes the context.

    Positionally when its next positional parameter is named ``context`` or has no default
    (or it takes ``*args``); by keyword when it has a ``context`` parameter elsewhere; else
    not at all, so an extra parameter with a default (MXNet's ``preferred_batch_size=1``)
    keeps its default.
    """
    parameters = list(inspect.signature(func).parameters.values())
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) > base_count:
        following = positional[base_count]
        if following.name == "context" or following.default is following.empty:
            return POSITIONAL_CONTEXT
    elif any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return POSITIONAL_CONTEXT
    later = positional[base_count + 1 :] + [p for p in parameters if p.kind is p.KEYWORD_ONLY]
    if any(p.name == "context" and p.kind is not p.POSITIONAL_ONLY for p in later):
        return KEYWORD_CONTEXT
    return NO_CONTEXT


def checked_context_plan(func: Callable, base_count: int) -> int:
    """:func:`context_plan`, with a TypeError when the call it plans does not fit ``func``."""
    required, maximum = arity(func)
    plan = context_plan(func, base_count)
    wanted = base_count + (1 if plan == POSITIONAL_CONTEXT else 0)
    if not required <= wanted <= maximum:
        raise TypeError(
            "{} takes {} positional arguments but is called with {} (or {} with "
            "context)".format(describe(func), required, base_count, base_count + 1)
        )
    return plan


def raised_in(exc: BaseException, func: Optional[Callable]) -> bool:
    """True when ``exc`` was raised inside ``func``'s own code (or code it called)."""
    target = inspect.unwrap(getattr(func, "__func__", func)) if func is not None else None
    code = getattr(target, "__code__", None)
    if code is None:
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code is code:
            return True
        tb = tb.tb_next
    return False
