"""Run in a downstream environment: does every name the toolkits use from sagemaker_inference
exist in the sagemaker_inference that is imported?

Reads the installed toolkits' source (every ``from sagemaker_inference... import name`` and every
``module.attribute`` used on a sagemaker_inference module they imported), resolves each one, and
prints one JSON line: where sagemaker_inference was imported from, how many names were checked,
and the ones missing.
"""

import ast
import importlib
import importlib.util
import json
import os
import sys

TOOLKITS = (
    "sagemaker_pytorch_serving_container",
    "sagemaker_huggingface_inference_toolkit",
    "sagemaker_mxnet_serving_container",
)


def uses_in(path):
    """(module, name) pairs that the file at ``path`` takes from sagemaker_inference."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    aliases = {}  # local name -> sagemaker_inference module path
    pairs = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sagemaker_inference"
        ):
            for alias in node.names:
                pairs.add((node.module, alias.name))
                candidate = "{}.{}".format(node.module, alias.name)
                aliases[alias.asname or alias.name] = candidate
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sagemaker_inference"):
                    pairs.add((alias.name, None))
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module is not None and _is_module(module):
                pairs.add((module, node.attr))
    return pairs


def _is_module(dotted):
    try:
        importlib.import_module(dotted)
    except ImportError:
        return False
    return True


def resolves(module, name):
    try:
        imported = importlib.import_module(module)
    except ImportError:
        return False
    if name is None:
        return True
    if hasattr(imported, name):
        return True
    return _is_module("{}.{}".format(module, name))


def main():
    import sagemaker_inference

    package_dir = os.path.dirname(os.path.abspath(sagemaker_inference.__file__))
    pairs = set()
    toolkits = []
    for toolkit in TOOLKITS:
        try:
            spec = importlib.util.find_spec(toolkit)
        except ImportError:
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        toolkits.append(toolkit)
        for directory in spec.submodule_search_locations:
            for name in sorted(os.listdir(directory)):
                if name.endswith(".py"):
                    pairs |= uses_in(os.path.join(directory, name))
    missing = sorted("{}:{}".format(m, n) for m, n in pairs if not resolves(m, n))
    print(
        json.dumps(
            {
                "sagemaker_inference": os.path.dirname(package_dir),
                "toolkits": toolkits,
                "checked": sorted("{}:{}".format(m, n) for m, n in pairs),
                "missing": missing,
                "python": sys.executable,
            }
        )
    )


if __name__ == "__main__":
    main()
