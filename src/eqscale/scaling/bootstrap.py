"""Run-level bootstrap: resample runs with replacement, refit, read percentile intervals.

An analysis result is a nested dict; every fit in it is a dict with ``ok`` and, when it
succeeded, ``params`` (name -> float). The bootstrap collects each fit's params by its path in
the nest, so any fit the analysis adds gets intervals without extra code.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from eqscale.scaling.runtable import RunTable

CI_LEVEL = 0.95
# An interval needs most resamples to be fittable: with few distinct x (say 4 training-set
# sizes and an offset law needing all 4) only the resamples that happen to repeat the original
# points can be fitted, and their "interval" is the point estimate again. Below this share of
# resamples no interval is given, and ``ci_withheld`` says why.
MIN_BOOTSTRAP_SHARE = 0.5


def stratified_resample(table: RunTable, rng: np.random.Generator) -> RunTable:
    """Resample runs with replacement within each (model, kind, augment) stratum, so every fit
    sees as many runs as in the real table."""
    keys = np.array([f"{m}|{k}|{a}" for m, k, a in zip(table.model, table.kind, table.augment)])
    picks = []
    for key in np.unique(keys):
        idx = np.flatnonzero(keys == key)
        picks.append(rng.choice(idx, size=idx.size, replace=True))
    index = np.concatenate(picks) if picks else np.zeros(0, dtype=int)
    return table.take(index)


def collect_params(result: Any, path: str = "") -> dict[str, dict[str, float]]:
    """Map path -> params for every successful fit inside ``result``."""
    found: dict[str, dict[str, float]] = {}
    if isinstance(result, dict):
        if result.get("ok") and isinstance(result.get("params"), dict):
            found[path] = dict(result["params"])
        for key, value in result.items():
            if key != "params":
                found.update(collect_params(value, f"{path}/{key}" if path else str(key)))
    return found


def _node(result: dict, path: str) -> dict | None:
    node: Any = result
    for key in path.split("/") if path else []:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) else None


class BootstrapSamples:
    """Accumulates each fit's params over resamples; then writes intervals into a result."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        self.joint: dict[str, list[dict[str, float]]] = defaultdict(list)
        self.n_resamples = 0

    def add(self, result: dict) -> None:
        self.n_resamples += 1
        for path, params in collect_params(result).items():
            self.joint[path].append(params)
            for name, value in params.items():
                if value is not None and np.isfinite(value):
                    self.values[path][name].append(float(value))

    def samples(self, path: str, name: str) -> np.ndarray:
        return np.asarray(self.values.get(path, {}).get(name, []), dtype=float)

    def attach(self, result: dict) -> None:
        """Give every successful fit ``ci`` (name -> [lo, hi]) and ``bootstrap_ok`` (how many
        resamples produced it) when at least two resamples did."""
        tail = 100.0 * (1.0 - CI_LEVEL) / 2.0
        for path in collect_params(result):
            node = _node(result, path)
            per_param = self.values.get(path, {})
            counts = [len(v) for v in per_param.values()]
            node["bootstrap_ok"] = min(counts) if counts else 0
            node["bootstrap_total"] = self.n_resamples
            if self.n_resamples and node["bootstrap_ok"] < MIN_BOOTSTRAP_SHARE * self.n_resamples:
                node["ci"] = {}
                node["ci_withheld"] = (f"no interval: only {node['bootstrap_ok']} of "
                                       f"{self.n_resamples} resamples could be fitted (too few "
                                       "distinct points; those that could repeat the original)")
                continue
            node["ci"] = {
                name: [float(np.percentile(v, tail)), float(np.percentile(v, 100.0 - tail))]
                for name, v in per_param.items() if len(v) >= 2
            }

    def band(self, path: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Pointwise 95% band of the power law E + A x^exponent over the resamples of ``path``
        (None with fewer than two resamples)."""
        curves = [p.get("E", 0.0) + p["A"] * x ** p["exponent"] for p in self.joint.get(path, [])]
        curves = [c for c in curves if np.all(np.isfinite(c))]
        if len(curves) < 2:
            return None
        tail = 100.0 * (1.0 - CI_LEVEL) / 2.0
        stack = np.stack(curves)
        return np.percentile(stack, tail, axis=0), np.percentile(stack, 100.0 - tail, axis=0)
