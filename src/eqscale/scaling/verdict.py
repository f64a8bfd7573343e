"""The verdict table at the top of the report: one row per question of the study.

Each claim of the reference study (Brehmer et al., arXiv 2410.23179) is answered **supported**,
**contradicted** or **not identified at this scale** from one number of the analysis and its 95%
run-level bootstrap interval (docs/scaling.md, "The verdict table"), never from a hard-coded
expectation. A ratio is the baseline's loss over the equivariant model's (> 1: the equivariant
model is better): supported when its interval lies above 1, contradicted when below, not
identified when it includes 1, has no interval, or could not be computed (the reason is given).
"""

from __future__ import annotations

from dataclasses import dataclass

from eqscale.models.registry import display_name
from eqscale.scaling.summary import fmt

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
NOT_IDENTIFIED = "not identified at this scale"
# Allocation exponents a that agree within this margin (the whole interval of their difference
# inside +-margin) count as the same allocation: a = 0.5 vs 0.55 is one strategy, not two.
ALLOCATION_MARGIN = 0.05


@dataclass(frozen=True)
class Verdict:
    """One row: the study's ``question``, the ``claim`` tested, the ``answer`` (one of the three
    above) with a few words of ``reason``, the deciding ``number`` with its interval, and the
    ``figure`` (its name in the report) that shows it."""

    question: str
    claim: str
    answer: str
    reason: str
    number: str
    figure: str


def _interval(node: dict, param: str) -> tuple[float | None, float | None]:
    lo, hi = (node.get("ci") or {}).get(param, (None, None))
    return lo, hi


def _short(x: float) -> str:
    return f"{x:.3g}".replace("-", "\u2212")  # a minus sign, not a hyphen


def _with_interval(value: float, node: dict, param: str) -> str:
    """``0.612 [0.468, 0.711]``: the value and its 95% interval (none: the value alone)."""
    lo, hi = _interval(node, param)
    return _short(value) + ("" if lo is None else f" [{_short(lo)}, {_short(hi)}]")


def _ratio(node: dict, ahead_eq: str, ahead_base: str, what: str,
           where: str = "") -> tuple[str, str, str]:
    """(answer, reason, number) of a baseline / equivariant loss ratio ``node``."""
    if not node.get("ok"):
        return NOT_IDENTIFIED, node.get("reason", "not computed"), "-"
    r = node["params"]["ratio"]
    number = f"{what}: {_with_interval(r, node, 'ratio')}{where}"
    lo, hi = _interval(node, "ratio")
    if lo is None:
        return NOT_IDENTIFIED, "no bootstrap interval to judge it", number
    if lo > 1:
        return SUPPORTED, ahead_eq, number
    if hi < 1:
        return CONTRADICTED, ahead_base, number
    return NOT_IDENTIFIED, "the interval includes 1: neither is clearly lower", number


def _names(result: dict) -> tuple[str, str]:
    return display_name(result["equivariant"]), display_name(result["baseline"])


def _compared(result: dict, key: str, missing: str = "not computed") -> dict:
    """The comparison's node ``key``, or a failed one saying why there is none."""
    comp = result.get("comparison", {})
    return comp.get(key) or {"ok": False, "reason": comp.get("reason", missing)}


def _sizes(node: dict) -> str:
    n = len(node.get("n_train", []))
    return f" over {n} training-set sizes" if n > 1 else (" at one training-set size" if n else "")


def data_efficiency(result: dict) -> Verdict:
    eq, base = _names(result)
    node = _compared(result, "data_ratio", "no data-study runs of the baseline")
    answer, reason, number = _ratio(node, f"{eq} lower at equal data",
                                    f"{base} lower at equal data", f"{base} / {eq} test loss",
                                    _sizes(node))
    return Verdict("Data efficiency", f"{eq} reaches a lower test loss than the {base} on the "
                   "same training data", answer, reason, number, "loss_vs_data")


def augmentation(result: dict, plain: Verdict) -> Verdict:
    """Closes the gap: there was one without augmentation (``plain`` supported), and with it the
    augmented baseline's ratio interval reaches 1 or below while lying wholly below the plain
    ratio's (the two intervals do not overlap). A gap that stays above 1 contradicts it."""
    eq, base = _names(result)
    claim = f"Data augmentation closes the {base}'s gap"
    node = _compared(result, "augment_ratio", "no augmented data-study runs")
    what = f"{base} + augmentation / {eq} test loss"
    answer, reason, number = _ratio(node, "", "", what, _sizes(node))
    if not node.get("ok"):
        return Verdict("Data efficiency", claim, NOT_IDENTIFIED, reason, number, "loss_vs_data")
    if plain.answer != SUPPORTED:
        why = (f"no gap to close: the {base} is not behind without augmentation"
               if plain.answer == CONTRADICTED else "no established gap to close")
        return Verdict("Data efficiency", claim, NOT_IDENTIFIED, why, number, "loss_vs_data")
    lo, hi = _interval(node, "ratio")
    if lo is None:
        return Verdict("Data efficiency", claim, NOT_IDENTIFIED, reason, number, "loss_vs_data")
    plain_lo, _ = _interval(result["comparison"]["data_ratio"], "ratio")
    if lo > 1:
        answer, reason = CONTRADICTED, "a gap remains with augmentation"
    elif hi < plain_lo:
        answer, reason = SUPPORTED, ("no gap left that the interval can show, and clearly less "
                                     "than without augmentation")
    else:
        answer, reason = NOT_IDENTIFIED, "the intervals with and without augmentation overlap"
    return Verdict("Data efficiency", claim, answer, reason, number, "loss_vs_data")


def power_law(result: dict) -> Verdict:
    """Supported when every model's pure compute power law is identified with an exponent
    interval below 0; contradicted when one lies above 0 (loss grows with compute)."""
    claim = "Loss falls as a power law in compute, for both architectures"
    parts, flat, rising, missing = [], [], [], []
    for model, res in result["models"].items():
        fit, name = res["frontier"]["power_law"], display_name(model)
        if not fit.get("ok"):
            missing.append(f"{name}: not fitted")
            continue
        k = fit["params"]["exponent"]
        parts.append(f"{name} exponent {_with_interval(k, fit, 'exponent')}")
        lo, hi = _interval(fit, "exponent")
        if not fit.get("identified", True):
            missing.append(f"{name}'s law is {NOT_IDENTIFIED}")
        elif lo is None:
            missing.append(f"{name}: no interval")
        elif lo > 0:
            rising.append(name)
        elif hi >= 0:
            flat.append(name)
    number = "; ".join(parts) or "-"
    if rising:
        answer, reason = CONTRADICTED, f"{' and '.join(rising)}: loss grows with compute"
    elif missing or flat or not parts:
        answer = NOT_IDENTIFIED
        reason = "; ".join(missing + [f"{n}'s interval includes 0" for n in flat]) or "no fits"
    else:
        answer, reason = SUPPORTED, "every exponent's interval lies below 0"
    return Verdict("Compute scaling", claim, answer, reason, number, "loss_vs_compute")


def per_flop(result: dict) -> Verdict:
    eq, base = _names(result)
    node = _compared(result, "mean_ratio")
    n = node.get("n_budgets")
    where = f" over {n} budgets" if n and n > 1 else (" at one budget" if n else "")
    answer, reason, number = _ratio(node, f"{eq} lower per FLOP", f"{base} lower per FLOP",
                                    f"{base} / {eq} best test loss", where)
    return Verdict("Compute scaling", f"{eq} reaches a lower loss than the {base} at each "
                   "compute budget (per FLOP)", answer, reason, number, "loss_vs_compute")


def per_second(result: dict) -> Verdict:
    eq, base = _names(result)
    node = _compared(result, "wall_ratio")
    at = f" at {fmt(node['seconds'])} s of training" if node.get("seconds") else ""
    answer, reason, number = _ratio(node, f"{eq} lower per second", f"{base} lower per second",
                                    f"{base} / {eq} frontier loss", at)
    return Verdict("Compute scaling", f"{eq} also wins per second of training (wall clock)",
                   answer, reason, number, "loss_vs_wall_clock")


def allocation(result: dict) -> Verdict:
    """The difference of the allocation exponents a (N_opt ~ C^a, equivariant minus baseline):
    supported when its interval excludes 0, contradicted when it lies within
    +-ALLOCATION_MARGIN, not identified otherwise or when an allocation is not identified."""
    eq, base = _names(result)
    claim = (f"The compute-optimal split between model size and training differs between {eq} "
             f"and the {base}")
    node = _compared(result, "allocation_a")
    if not node.get("ok"):
        return Verdict("Compute-optimal allocation", claim, NOT_IDENTIFIED,
                       node.get("reason", "not computed"), "-", "compute_optimal")
    d = node["params"]["difference"]
    number = f"a({eq}) \u2212 a({base}), N_opt ~ C^a: {_with_interval(d, node, 'difference')}"
    lo, hi = _interval(node, "difference")
    if not node.get("identified", True):
        answer, reason = NOT_IDENTIFIED, "an allocation exponent is not identified (L(N, D))"
    elif lo is None:
        answer, reason = NOT_IDENTIFIED, "no bootstrap interval to judge it"
    elif lo > 0 or hi < 0:
        faster = eq if d > 0 else base
        answer, reason = SUPPORTED, f"{faster} should grow model size faster with compute"
    elif -ALLOCATION_MARGIN <= lo and hi <= ALLOCATION_MARGIN:
        answer, reason = CONTRADICTED, f"the exponents agree within {ALLOCATION_MARGIN}"
    else:
        answer, reason = NOT_IDENTIFIED, "the interval includes 0"
    return Verdict("Compute-optimal allocation", claim, answer, reason, number,
                   "compute_optimal")


def verdicts(result: dict) -> list[Verdict]:
    """The rows of the verdict table, in the order of the study's questions."""
    plain = data_efficiency(result)
    return [plain, augmentation(result, plain), power_law(result), per_flop(result),
            per_second(result), allocation(result)]
