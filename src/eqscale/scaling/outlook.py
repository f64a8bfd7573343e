"""What a study at this scale identifies, and, from its fitted laws, at what budgets the rest
would be: the conclusion's last word on IsoFLOP minima and compute-scaling exponents.

Two extrapolations, each only as good as the law it reads:

- **Interior IsoFLOP minima.** Where the smallest size of a budget's grid wins, the optimum lies
  at or below it. The fitted allocation ``N_opt = G C^a`` (from L(N, D) and the cost model)
  says at what budget the optimum reaches the next size up, ``C = (N_next / G)^(1/a)``: a grid
  that still holds the smallest size there brackets the optimum.
- **Exponents whose interval includes 0.** A slope's interval narrows in proportion to the
  spread of log C it is fitted over (at the same scatter about the law and the same density of
  budgets). An interval whose side toward 0 reaches ``h`` past a falling exponent ``k`` (upper
  end ``k + h >= 0``) therefore excludes 0 once the budgets span ``h / |k|`` times as many
  decades: budgets up to ``C_min (C_max / C_min)^(h / |k|)``.
"""

from __future__ import annotations

from eqscale.models.registry import display_name
from eqscale.scaling.summary import fmt

MIN_INTERIOR = 3  # budgets with an interior minimum that N_opt ~ C^a and D_opt ~ C^b need


def _sizes_won(minima: list[dict]) -> tuple[list[float], list[float]]:
    """Budgets whose smallest, and whose largest, trained size has the lowest loss."""
    low, high = [], []
    for m in minima:
        if m.get("ok") or not m.get("N"):
            continue
        best = min(range(len(m["L"])), key=lambda i: m["L"][i])
        if m["N"][best] == min(m["N"]):
            low.append(m["budget"])
        elif m["N"][best] == max(m["N"]):
            high.append(m["budget"])
    return low, high


def _next_size_budget(res: dict, sizes: list[float]) -> str:
    """At what budget the fitted allocation puts the optimum at the second-smallest size."""
    al = res.get("parametric", {}).get("allocation", {})
    if not al.get("ok") or len(sizes) < 2:
        return "no fitted allocation to say at what budget the optimum would move up"
    G, a = al["params"]["G"], al["params"]["a"]
    if not a > 0:
        return f"the fitted allocation (N_opt ~ C^{a:.2f}) does not grow with compute"
    target = sizes[1]
    budget = (target / G) ** (1 / a)
    guide = "" if al.get("identified", True) else \
        " (a rough guide: that allocation is not identified at this scale)"
    return (f"the fitted allocation N_opt ~ C^{a:.2f} reaches the next size (N = {fmt(target)}) "
            f"at about {budget:.2g} FLOPs, where a grid that keeps the smallest size would "
            f"bracket the optimum{guide}")


def _minima(model: str, res: dict) -> str:
    minima = res["isoflop"]["minima"]
    sizes = sorted({n for m in minima for n in m.get("N", [])})
    good = [m for m in minima if m.get("ok")]
    text = f"{display_name(model)} at {len(good)} of {len(minima)} budgets"
    if len(good) >= MIN_INTERIOR:
        return text
    low, high = _sizes_won(minima)
    notes = []
    if low:
        notes.append(f"the smallest size of the grid wins at {', '.join(f'{b:.3g}' for b in low)} "
                     f"FLOPs, so the optimum lies at or below it; {_next_size_budget(res, sizes)}")
    if high:
        notes.append(f"the largest size wins at {', '.join(f'{b:.3g}' for b in high)} FLOPs: "
                     "larger sizes are needed there")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def _exponent(model: str, res: dict) -> str | None:
    law = res.get("frontier", {}).get("power_law", {})
    lo, hi = law.get("ci", {}).get("exponent", (None, None))
    budgets = res.get("frontier", {}).get("points", {}).get("C", [])
    if not law.get("ok") or lo is None or not lo <= 0 <= hi or len(budgets) < 2:
        return None
    k = law["params"]["exponent"]
    if not k < 0:
        return (f"{display_name(model)}'s best loss does not fall with compute at these budgets "
                f"(exponent {fmt(k)}): its fitted law gives no budget at which the interval "
                "would exclude 0")
    c_min, c_max = min(budgets), max(budgets)
    span = (hi - k) / abs(k)  # the interval's side toward 0 must shrink below |k|
    reach = c_min * (c_max / c_min) ** span
    return (f"{display_name(model)}'s exponent {fmt(k)} would exclude 0 over budgets up to "
            f"about {reach:.2g} FLOPs ({span:.2g}x the decades spanned here, at the same "
            "scatter)")


def outlook(result: dict) -> str | None:
    """A paragraph: interior IsoFLOP minima per architecture and, where there are fewer than
    three or an exponent's interval includes 0, at what budgets the fitted laws say they would
    be found."""
    models = {m: r for m, r in result["models"].items()
              if r.get("isoflop", {}).get("minima")}
    if not models:
        return None
    parts = [_minima(m, r) for m, r in models.items()]
    text = ("Interior IsoFLOP minima (a parabola in log N whose vertex lies within the trained "
            f"sizes; N_opt ~ C^a and D_opt ~ C^b need {MIN_INTERIOR}): " + "; ".join(parts) + ".")
    flat = [s for s in (_exponent(m, r) for m, r in models.items()) if s]
    if flat:
        text += " Compute scaling: " + "; ".join(flat) + "."
    return text
