"""The report's conclusion in plain words, derived only from the numbers of the analysis."""

from __future__ import annotations

from eqscale.scaling.summary import fmt, fmt_p

SHORT_NAMES = {"gatr": "GATr", "transformer": "Transformer"}


def _name(model: str) -> str:
    return SHORT_NAMES.get(model, model)


def _ci(node: dict, param: str) -> str:
    lo, hi = node.get("ci", {}).get(param, (None, None))
    return "" if lo is None else f" (95% interval {fmt(lo)} to {fmt(hi)})"


def _winner(result: dict) -> str | None:
    comp = result["comparison"]
    mean = comp.get("mean_ratio", {})
    if not mean.get("ok"):
        return None
    eq, base = _name(result["equivariant"]), _name(result["baseline"])
    ratios = [b["params"]["ratio"] for b in comp["budgets"].values()]
    r = mean["params"]["ratio"]
    lo, hi = mean.get("ci", {}).get("ratio", (None, None))
    wins = sum(x > 1 for x in ratios)
    ci_text = "" if lo is None else f", 95% interval {fmt(lo)} to {fmt(hi)}"
    if lo is not None and lo > 1:
        verdict = f"{eq} wins"
    elif hi is not None and hi < 1:
        verdict = f"{base} wins"
    elif lo is None:
        verdict = f"{eq if r > 1 else base} is ahead (no bootstrap interval to judge)"
    else:
        verdict = "neither model is clearly better"
    if len(ratios) == 1:
        return (f"Per FLOP, {verdict}: at the one shared budget the {base}'s best test loss is "
                f"{fmt(r)}x the {eq}'s{_ci(mean, 'ratio')}.")
    return (f"Per FLOP, {verdict}: at the {len(ratios)} shared budgets the {base}'s best test "
            f"loss is {fmt(r)}x the {eq}'s (geometric mean{ci_text}; per budget "
            f"{fmt(min(ratios))}x to {fmt(max(ratios))}x, {eq} lower at {wins} of "
            f"{len(ratios)}).")


def _exponents(result: dict) -> str | None:
    models, comp = result["models"], result["comparison"]
    laws = {m: r["frontier"]["power_law"] for m, r in models.items()}
    if not all(f.get("ok") for f in laws.values()):
        return None
    parts = [f"{_name(m)} L ~ C^{f['params']['exponent']:.3f}{_ci(f, 'exponent')}"
             for m, f in laws.items()]
    text = "Loss falls as a power law in compute: " + "; ".join(parts) + "."
    diff = comp.get("frontier_exponent", {})
    if diff.get("ok") and "p_value" in diff:
        d = diff["params"]["difference"]
        if diff["differ"]:
            faster = result["equivariant"] if d < 0 else result["baseline"]
            trend = f"the {_name(faster)}'s loss falls faster with compute"
            text += (f" The exponents differ (difference {fmt(d)}, bootstrap p "
                     f"{fmt_p(diff)}): {trend}.")
        else:
            text += (f" The exponents do not differ significantly (difference {fmt(d)}, "
                     f"bootstrap p {fmt_p(diff)}), so the gap is a similar factor at "
                     "every budget.")
    return text


def _wall(result: dict) -> str | None:
    w = result["comparison"].get("wall_ratio", {})
    per_flop = result["comparison"].get("mean_ratio", {})
    if not w.get("ok"):
        return f"Per wall-clock second: not compared ({w.get('reason', 'no data')})." if w else None
    eq, base = _name(result["equivariant"]), _name(result["baseline"])
    r = w["params"]["ratio"]
    text = (f"Per wall-clock second: at {fmt(w['seconds'])} s of training the {base}'s "
            f"frontier loss is {fmt(r)}x the {eq}'s{_ci(w, 'ratio')}")
    if per_flop.get("ok"):
        rf = per_flop["params"]["ratio"]
        if (rf > 1) != (r > 1):
            text += "; the per-FLOP ranking reverses when time is what counts"
        elif abs(r - 1) < abs(rf - 1):
            text += "; the per-FLOP advantage survives per second, but smaller"
        else:
            text += "; the per-FLOP advantage survives per second"
    return text + "."


def _allocation(result: dict) -> str | None:
    parts = []
    for model, res in result["models"].items():
        al = res["parametric"]["allocation"]
        if al.get("ok"):
            a, b = al["params"]["a"], al["params"]["b"]
            lean = "model size faster than training samples" if a > b else \
                "training samples faster than model size"
            parts.append(f"{_name(model)} N_opt ~ C^{a:.2f}{_ci(al, 'a')}, D_opt ~ C^{b:.2f}: "
                         f"grow {lean}")
        elif res["isoflop"]["N_opt"].get("ok"):
            a = res["isoflop"]["N_opt"]["params"]["exponent"]
            parts.append(f"{_name(model)} (IsoFLOP minima only) N_opt ~ C^{a:.2f}")
    if not parts:
        return None
    text = "Compute-optimal allocation on the fitted L(N, D) with the measured cost model: " + \
        "; ".join(parts) + "."
    diff = result["comparison"].get("allocation_a", {})
    if diff.get("ok") and "p_value" in diff:
        text += (" The allocation exponents " + ("differ" if diff["differ"] else
                                                  "do not differ significantly") +
                 f" (bootstrap p {fmt_p(diff)}).")
    return text


def _data(result: dict) -> str | None:
    parts, last = [], {}
    for model, res in result["models"].items():
        for label, node in res["data"].items():
            fit = node["offset_law"] if node["offset_law"].get("ok") else node["power_law"]
            if fit.get("ok"):
                name = _name(model) + (" + augmentation" if label == "augment" else "")
                parts.append(f"{name} L ~ n^{fit['params']['exponent']:.2f}, loss "
                             f"{fmt(node['points']['L'][-1])} at n = "
                             f"{fmt(node['points']['n_train'][-1])}")
            if node.get("points"):
                last[(model, label)] = (node["points"]["n_train"][-1], node["points"]["L"][-1])
    if not parts:
        return None
    text = "Data scaling (training-set size n in trajectories): " + "; ".join(parts) + "."
    eq = last.get((result["equivariant"], "no_augment"))
    base = last.get((result["baseline"], "no_augment"))
    aug = last.get((result["baseline"], "augment"))
    if eq and base and aug and eq[0] == base[0] == aug[0] and base[1] > eq[1]:
        closed = (base[1] - aug[1]) / (base[1] - eq[1])
        where = f" At n = {fmt(eq[0])}, augmentation"
        gap = f"the {_name(result['baseline'])}'s gap to {_name(result['equivariant'])}"
        if closed >= 1:
            text += f"{where} more than closes {gap}."
        elif closed > 0:
            text += f"{where} closes {100 * closed:.0f}% of {gap}."
        else:
            text += f"{where} does not close {gap}."
    return text


def _gaps(result: dict) -> str | None:
    from eqscale.scaling.summary import coefficient_rows

    missing = sorted({f"{_name(r.model)}: {r.law}" for r in coefficient_rows(result)
                      if r.value is None})
    if not missing:
        return None
    return ("Not fitted on this table (the coefficient table gives each reason; more runs, "
            "sizes or budgets would allow them): " + "; ".join(missing) + ".")


def conclusion(result: dict) -> list[str]:
    """Paragraphs: winner and factor, exponents, wall clock, allocation, data, gaps."""
    paras = [p for p in (_winner(result), _exponents(result), _wall(result),
                         _allocation(result), _data(result)) if p]
    if not result["comparison"].get("ok", True):
        paras.insert(0, f"No comparison: {result['comparison']['reason']}.")
    paras.append(f"Based on {result['n_runs']} finished runs and {result['n_bootstrap']} "
                 "run-level bootstrap resamples; intervals are 95% percentile intervals.")
    gaps = _gaps(result)
    if gaps:
        paras.append(gaps)
    return paras
