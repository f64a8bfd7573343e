"""``eqscale train``'s options, generated from the fields of :class:`TrainConfig`.

Every field becomes ``--field-name`` (a new field appears on its own), typed from its
annotation: int, float and str values, ``--flag/--no-flag`` for booleans, two numbers for a
pair. An option not given keeps the preset's value (or the dataclass default); ``--help``
shows the dataclass default. ``--model`` is required. A few fields get handwritten help and
choices below.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any

# Fields the command sets otherwise (``--preset``) or that need more than their type.
SKIPPED = ("preset",)
REQUIRED = ("model",)  # no silent default architecture
HELP = {
    "model": "architecture (a registered name)",
    "size": "size index of the architecture's schedule",
    "steps": "number of optimiser steps",
    "budget": "compute budget in FLOPs (instead of --steps)",
    "budget_convention": "which FLOP count a budget is measured in",
    "batch_size": "global batch (split across data-parallel ranks)",
    "lr": "peak learning rate (AdamW; warmup, then cosine decay)",
    "augment": "random E(3) data augmentation",
    "train_subset": "train on the first N training trajectories",
    "device": "cpu, cuda, cuda:1, ... (default: cuda if available)",
    "compile": "torch.compile the training step (default: on CUDA only)",
    "val_samples": "validation samples per evaluation",
    "patience": "validations without improvement before stopping early",
}


def _value_type(annotation: Any) -> tuple[Any, bool]:
    """(the non-None type of ``annotation``, whether None is allowed)."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else str), len(rest) < len(args)
    return annotation, False


def add_config_flags(parser: argparse.ArgumentParser, config_cls: type,
                     choices: dict[str, Any] | None = None) -> list[str]:
    """Add one option per field of ``config_cls``; returns the field names, in order."""
    hints = typing.get_type_hints(config_cls)
    exclusive = parser.add_mutually_exclusive_group()  # a run's length: steps or budget
    names = []
    for f in dataclasses.fields(config_cls):
        if f.name in SKIPPED:
            continue
        kind, _ = _value_type(hints[f.name])
        flag = "--" + f.name.replace("_", "-")
        default = None if f.default is dataclasses.MISSING else f.default
        text = f"{HELP.get(f.name, f.name.replace('_', ' '))} (default: {default})"
        target = exclusive if f.name in ("steps", "budget") else parser
        kwargs: dict[str, Any] = {"dest": f.name, "default": None, "help": text}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is tuple:
            item = typing.get_args(kind)[0]
            kwargs.update(type=item, nargs=len(typing.get_args(kind)),
                          metavar=item.__name__.upper())
        else:
            kwargs["type"] = kind if kind in (int, float) else str
        if choices and f.name in choices:
            kwargs["choices"] = choices[f.name]
        if f.name in REQUIRED:
            kwargs.update(required=True, help=HELP[f.name])
        target.add_argument(flag, **kwargs)
        names.append(f.name)
    return names


def config_overrides(args: argparse.Namespace, names: list[str]) -> dict[str, Any]:
    """The fields given on the command line (pairs as tuples); the rest stay the preset's."""
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
