"""Which fitted parameters the data identify: flags, not deletions (``fits.json``'s
``identified`` and ``unidentified``), so tables, figures and the conclusion do not present an
unsupported fit as a law (docs/scaling.md, "Identification")."""

from __future__ import annotations

from eqscale.scaling.fits import EXPONENT_BOUND
from eqscale.scaling.runtable import BASELINE, EQUIVARIANT

NOT_IDENTIFIED = "not identified at this scale"
# How close to the optimiser's bound an interval's end counts as having reached it: resamples
# that run to the bound mark the exponent as unconstrained by the data. L(N, D)'s exponents live
# in [0, EXPONENT_BOUND], so "spans the plausible range" alone could never fire for them.
BOUND_REACH = 0.01
SCALE_SPAN = 1e4  # a scale parameter (E, A, B) whose interval spans more than this factor
EXPONENT_NAMES = ("exponent", "alpha", "beta")


def _unidentified(node: dict, flexible: bool) -> dict[str, str]:
    """Param -> why it is not identified. ``flexible``: the offset law and L(N, D), whose
    parameters trade off against each other; for those a scale parameter whose interval spans
    orders of magnitude (or reaches 0), or an exponent whose interval spans the whole plausible
    range or reaches the optimiser's bound, is not identified. Any law: an estimate on the
    optimiser's bound, or too few fittable resamples for an interval."""
    why: dict[str, str] = {}
    for name in node.get("at_bound", []):
        why[name] = (f"ends on the optimiser's bound (exponents limited to {EXPONENT_BOUND:g} "
                     "in size)")
    if "ci_withheld" in node:
        for name in node["params"]:
            why.setdefault(name, node["ci_withheld"])
    if not flexible:
        return why
    for name, (lo, hi) in node.get("ci", {}).items():
        if name in EXPONENT_NAMES:
            if hi - lo > EXPONENT_BOUND:
                why.setdefault(name, f"interval [{lo:.3g}, {hi:.3g}] spans the plausible range")
            elif max(abs(lo), abs(hi)) >= EXPONENT_BOUND - BOUND_REACH:
                why.setdefault(name, f"interval [{lo:.3g}, {hi:.3g}] reaches the optimiser's "
                                     f"bound (exponents limited to {EXPONENT_BOUND:g} in size)")
        elif name in ("E", "A", "B") and (lo <= 0 or hi / lo > SCALE_SPAN):
            what = "reaches 0" if lo <= 0 else "spans orders of magnitude"
            why.setdefault(name, f"interval [{lo:.3g}, {hi:.3g}] {what}")
    return why


def _mark(node: dict, why: dict[str, str]) -> None:
    if not node.get("ok"):
        return
    node["unidentified"] = why
    node["identified"] = not why


def identify(result: dict) -> None:
    """Mark every fit ``identified`` (bool) with ``unidentified`` (param -> reason): the numbers
    stay, but a fit that ends on a bound or whose interval spans orders of magnitude is flagged
    so the tables, figures and conclusion do not present it as a law."""
    for res in result.get("models", {}).values():
        groups = [res["frontier"], res["wall_frontier"], *res["data"].values()]
        for group in groups:
            for law, flexible in (("power_law", False), ("offset_law", True)):
                if law in group:
                    _mark(group[law], _unidentified(group[law], flexible))
        fit = res["parametric"]["fit"]
        _mark(fit, _unidentified(fit, True))
        al = res["parametric"]["allocation"]
        if fit.get("ok"):
            why = _unidentified(al, False)
            if not fit["identified"]:
                bad = ", ".join(sorted(fit["unidentified"]))
                for name in al.get("params", {}):
                    why.setdefault(name, f"derived from an L(N, D) fit whose {bad} are "
                                         f"{NOT_IDENTIFIED}")
            _mark(al, why)
        for key in ("N_opt", "D_opt"):
            _mark(res["isoflop"][key], _unidentified(res["isoflop"][key], False))
    comp = result.get("comparison", {})
    models = result.get("models", {})
    eq, base = models.get(EQUIVARIANT), models.get(BASELINE)
    if "allocation_a" in comp and eq and base:
        sources = [m["parametric"]["allocation"] for m in (eq, base)]
        if comp["allocation_a"].get("ok") and not all(s.get("identified") for s in sources):
            _mark(comp["allocation_a"], {"difference": "an allocation exponent is "
                                                       f"{NOT_IDENTIFIED}"})
