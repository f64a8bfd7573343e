"""The architecture registry: the one list of the models a study can train (no torch).

An :class:`Architecture` is a name, its size schedule (configurations with torch-free
``parameters()`` and ``flops(objects, faces)``), a ``build(config, faces_per_object)`` callable
that imports torch only when a model is built, and how reports show it. Training, study specs,
the planner and the report all ask this registry; nothing else lists architecture names.

The two architectures of the study are registered here. A third is one :func:`register` call
in a module named in the environment variable ``EQSCALE_PLUGINS`` (comma-separated module
names), which every eqscale process imports with this registry, worker processes of a sweep
included (docs/models.md, "Adding an architecture"): training, sweeps and the report then
accept it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from eqscale.errors import EqscaleError
from eqscale.models.sizes import GATR_SIZES, TRANSFORMER_SIZES, FlopCount

AUGMENT_SUFFIX = "+augment"  # a data-study variant: an architecture trained on augmented data


class SizeConfig(Protocol):
    """What the planner and the budget need of a size configuration."""

    def parameters(self) -> int: ...

    def flops(self, objects: float, faces: int) -> FlopCount: ...


@dataclass(frozen=True)
class Architecture:
    """One trainable architecture.

    ``build(config, faces_per_object)`` returns a fresh ``torch.nn.Module`` whose
    ``forward(batch)`` gives each object's rigid motion (docs/interfaces.md); ``label`` names
    it in reports and ``color`` draws it (a matplotlib colour, or None for the next default).
    """

    name: str
    sizes: tuple[SizeConfig, ...]
    build: Callable[[Any, int], Any]
    label: str
    equivariant: bool = False
    color: str | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise EqscaleError(f"an architecture name must be letters, digits, '-' or '_', "
                               f"got {self.name!r}")
        if not self.sizes:
            raise EqscaleError(f"architecture {self.name!r} has no sizes")


_REGISTRY: dict[str, Architecture] = {}


def register(arch: Architecture, replace: bool = False) -> Architecture:
    """Add ``arch`` (``replace``: over one of the same name); returns it."""
    if arch.name in _REGISTRY and not replace:
        raise EqscaleError(f"architecture {arch.name!r} is already registered")
    _REGISTRY[arch.name] = arch
    return arch


def unregister(name: str) -> None:
    """Remove a registered architecture (tests and plugins that clean up after themselves)."""
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Registered architecture names, in registration order."""
    return tuple(_REGISTRY)


def variants() -> tuple[str, ...]:
    """Data-study arms: each architecture, plain and with augmentation."""
    return names() + tuple(n + AUGMENT_SUFFIX for n in names())


def architecture(name: str) -> Architecture:
    """The registered architecture ``name``; an unknown name is a one-line error."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise EqscaleError(f"unknown model {name!r}; choose one of "
                           f"{', '.join(_REGISTRY)}") from None


def display_name(name: str, long: bool = False) -> str:
    """How reports name architecture ``name`` (``long``: saying which is equivariant); a name
    not registered in this process (e.g. a plugin's, in an old run table) is shown as is."""
    arch = _REGISTRY.get(name)
    if arch is None:
        return name
    return f"{arch.label} (equivariant)" if long and arch.equivariant else arch.label


def display_color(name: str, fallback: str) -> str:
    """The colour reports draw ``name`` in, else ``fallback``."""
    arch = _REGISTRY.get(name)
    return arch.color if arch is not None and arch.color else fallback


def check_size(arch: str, size: int | str) -> int:
    """Validate a size index (an int, or a string of digits from the command line)."""
    sizes = architecture(arch).sizes
    try:
        index = int(size)
    except (TypeError, ValueError):
        raise EqscaleError(f"model size must be an integer index, got {size!r}") from None
    if not 0 <= index < len(sizes):
        raise EqscaleError(f"{arch} size {index} is out of range; sizes are 0..{len(sizes) - 1}")
    return index


def size_config(arch: str, size: int | str) -> Any:
    """The configuration of size index ``size`` of architecture ``arch``."""
    return architecture(arch).sizes[check_size(arch, size)]


def parameter_count(arch: str, size: int | str) -> int:
    """Trainable parameters of ``build_model(arch, size, ...)`` (independent of faces)."""
    return int(size_config(arch, size).parameters())


def flops_per_sample(arch: str, size: int | str, objects: float,
                     faces_per_object: int) -> FlopCount:
    """Training FLOPs (forward + backward) of one sample of ``objects`` x ``faces_per_object``.

    ``objects`` is the number of object slots the model runs on; pass the mean over a dataset
    for an average cost (it may be fractional).
    """
    config = size_config(arch, size)
    if not objects > 0 or not faces_per_object >= 1:
        raise EqscaleError(
            f"need objects > 0 and faces_per_object >= 1, got {objects} and {faces_per_object}"
        )
    return config.flops(float(objects), int(faces_per_object))


def _build_gatr(config: Any, faces_per_object: int) -> Any:
    from eqscale.models.gatr_model import GATrTaskModel

    return GATrTaskModel(config, faces_per_object)


def _build_transformer(config: Any, faces_per_object: int) -> Any:
    from eqscale.models.transformer import TransformerTaskModel

    return TransformerTaskModel(config, faces_per_object)


register(Architecture("gatr", GATR_SIZES, _build_gatr, label="GATr", equivariant=True,
                      color="#1f5fa8"))
register(Architecture("transformer", TRANSFORMER_SIZES, _build_transformer,
                      label="Transformer", color="#d9731a"))

# The study's own two architectures: the default arms of a study spec (a plugin's architecture
# joins a study when the spec names it).
BUILTIN = names()
PLUGINS_VARIABLE = "EQSCALE_PLUGINS"


def load_plugins(spec: str | None = None) -> list[str]:
    """Import the modules named in ``spec`` (default: ``$EQSCALE_PLUGINS``), which register
    their architectures; returns their names. An unimportable one is a one-line error."""
    spec = os.environ.get(PLUGINS_VARIABLE, "") if spec is None else spec
    modules = [m.strip() for m in spec.split(",") if m.strip()]
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise EqscaleError(f"{PLUGINS_VARIABLE}: cannot import {module!r}: {exc}") from None
    return modules


load_plugins()
