"""Import only the provider SDK modules a plan uses.

Each service package of a provider SDK (`pulumi_aws.ec2`, `pulumi_gcp.container`, ...) imports
every resource module of the service in its `__init__` (`from .vpc import *`, ... ~200 for ec2),
and building their classes is most of a cold plan. While planning offline, service packages are
created without running that `__init__`; a name is resolved on first access from the module the
SDK generates for it (`Vpc`/`VpcArgs` in `vpc.py`, `get_vpc`/`GetVpcResult` in `get_vpc.py`,
nested types in `_inputs.py`/`outputs.py`, enums in `_enums.py`, checked against that module's
`__all__`). A name found nowhere runs the package's real `__init__`, after which the package is
exactly the SDK's. The classes are the SDK's own; plans are identical (tests/test_engine.py).
Measured: aws-dev imports 330 SDK modules instead of 746, a cold plan -0.9 s.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

SDK_PACKAGES = ("pulumi_aws", "pulumi_azure_native", "pulumi_gcp")
_SHARED_MODULES = ("_enums", "_inputs")  # star-imported by the package, like the resource modules
_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def module_candidates(name: str) -> list[str]:
    """The generated modules that can define `name`, by the SDK generator's naming scheme."""
    base = name.removeprefix("Awaitable")
    for suffix in ("ArgsDict", "Args", "Result"):
        if base.endswith(suffix) and base != suffix:
            base = base[: -len(suffix)]
            break
    module = _WORD.sub("_", base).lower()
    return [module, module.removesuffix("_output")] if module.endswith("_output") else [module]


class _ServiceLoader(importlib.abc.Loader):
    """Creates a service package with a module `__getattr__` instead of running its `__init__`."""

    def __init__(self, real: importlib.abc.Loader):
        self.real = real

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        assert spec is not None and spec.origin is not None  # set by the import system
        package, directory, real = module.__name__, Path(spec.origin).parent, self.real
        completed = False

        def complete() -> None:
            nonlocal completed
            if not completed:
                completed = True
                exec(real.get_code(package), module.__dict__)  # type: ignore[attr-defined]

        def resolve(name: str) -> object:
            if not completed and not name.startswith("__"):
                if (directory / f"{name}.py").is_file() or (directory / name / "__init__.py").is_file():
                    return importlib.import_module(f"{package}.{name}")  # `from . import outputs`
                for candidate in (*module_candidates(name), *_SHARED_MODULES):
                    if (directory / f"{candidate}.py").is_file():
                        source = importlib.import_module(f"{package}.{candidate}")
                        if name in getattr(source, "__all__", ()):
                            module.__dict__[name] = value = getattr(source, name)
                            return value
                complete()
            try:
                return module.__dict__[name]
            except KeyError:
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

        module.__getattr__ = resolve  # type: ignore[attr-defined]


class _ServiceFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path, target=None) -> importlib.machinery.ModuleSpec | None:
        parts = fullname.split(".")
        if len(parts) != 2 or parts[0] not in SDK_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not spec.submodule_search_locations:
            return None
        spec.loader = _ServiceLoader(spec.loader)
        return spec


@contextmanager
def selective_sdk_imports() -> Iterator[None]:
    """Service packages first imported inside this block load only what is used (they stay so
    afterwards; a name they lack still completes them)."""
    finder = _ServiceFinder()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
