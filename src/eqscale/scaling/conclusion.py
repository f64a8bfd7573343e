"""The report's conclusion in plain words, derived only from the numbers of the analysis."""

from __future__ import annotations

import math

from eqscale.models.registry import display_name
from eqscale.scaling.outlook import outlook
from eqscale.scaling.summary import fmt, fmt_p


def _name(model: str) -> str:
    return display_name(model)


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


def _identified(fit: dict) -> bool:
    return bool(fit.get("ok")) and fit.get("identified", True)


def _interval(node: dict, param: str) -> tuple[float | None, float | None]:
    lo, hi = node.get("ci", {}).get(param, (None, None))
    return lo, hi


def _includes_zero(node: dict, param: str) -> bool:
    lo, hi = _interval(node, param)
    return lo is not None and lo <= 0 <= hi


def _leader(result: dict, node: dict) -> tuple[str, bool | None]:
    """Who is ahead on a baseline / equivariant loss ratio (> 1: the equivariant model), and
    whether its interval excludes 1 (None: no interval)."""
    r = node["params"]["ratio"]
    ahead = _name(result["equivariant"] if r > 1 else result["baseline"])
    lo, hi = _interval(node, "ratio")
    return ahead, None if lo is None else bool(lo > 1 or hi < 1)


def _exponents(result: dict) -> str | None:
    models, comp = result["models"], result["comparison"]
    laws = {m: r["frontier"]["power_law"] for m, r in models.items()}
    if not all(f.get("ok") for f in laws.values()):
        return None
    parts = [f"{_name(m)} L ~ C^{f['params']['exponent']:.3f}{_ci(f, 'exponent')}"
             for m, f in laws.items()]
    flat = [_name(m) for m, f in laws.items() if _includes_zero(f, "exponent")]
    falls = all(f["params"]["exponent"] < 0 for f in laws.values()) and not flat
    head = "Loss falls as a power law in compute: " if falls else \
        "Best loss against compute (pure power law): "
    text = head + "; ".join(parts) + "."
    if flat:
        verb = "intervals of" if len(flat) > 1 else "interval of"
        text += (f" The {verb} {' and '.join(flat)} include{'' if len(flat) > 1 else 's'} 0: "
                 "no measurable compute scaling at this scale.")
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
                     f"bootstrap p {fmt_p(diff)}): the data do not show the gap changing "
                     "with budget.")
    return text


def _wall(result: dict) -> str | None:
    w = result["comparison"].get("wall_ratio", {})
    per_flop = result["comparison"].get("mean_ratio", {})
    if not w.get("ok"):
        return f"Per wall-clock second: not compared ({w.get('reason', 'no data')})." if w else None
    eq, base = _name(result["equivariant"]), _name(result["baseline"])
    r = w["params"]["ratio"]
    ahead, clear = _leader(result, w)
    text = (f"Per wall-clock second: at {fmt(w['seconds'])} s of training the {base}'s "
            f"frontier loss is {fmt(r)}x the {eq}'s{_ci(w, 'ratio')}: the {ahead} is ")
    if clear is None:
        text += "ahead per second (no bootstrap interval to judge)"
    elif clear:
        text += "ahead per second and the interval excludes 1"
    else:
        text += "nominally ahead per second, but the interval includes 1"
    if per_flop.get("ok"):
        f_ahead, f_clear = _leader(result, per_flop)
        rf = per_flop["params"]["ratio"]
        if f_clear and clear:
            if f_ahead != ahead:
                text += "; the per-FLOP ranking reverses when time is what counts"
            elif abs(math.log(r)) < abs(math.log(rf)):
                text += "; the per-FLOP advantage survives per second, but smaller"
            else:
                text += "; the per-FLOP advantage survives per second"
        elif clear and f_clear is False:
            text += ", while per FLOP neither model is clearly better"
        elif f_clear and clear is False:
            text += f"; the {f_ahead}'s per-FLOP advantage is not established per second"
        elif f_clear is False and clear is False:
            text += "; neither model is clearly better per FLOP or per second"
    return text + "."


def _lean(al: dict) -> str:
    """Which of N and D to grow faster, only as far as the intervals of a and b support it."""
    a, b = al["params"]["a"], al["params"]["b"]
    (alo, ahi), (blo, bhi) = _interval(al, "a"), _interval(al, "b")
    faster = "model size faster than training samples" if a > b else \
        "training samples faster than model size"
    if alo is None or blo is None:
        return f"the point estimate favours growing {faster} (no bootstrap interval to judge)"
    if ahi < blo or alo > bhi:
        return f"grow {faster}"
    return ("the intervals of a and b overlap, so they do not settle whether size or samples "
            "should grow faster")


def _allocation(result: dict) -> str | None:
    parts = []
    for model, res in result["models"].items():
        al = res["parametric"]["allocation"]
        if al.get("ok"):
            a, b = al["params"]["a"], al["params"]["b"]
            head = f"{_name(model)} N_opt ~ C^{a:.2f}{_ci(al, 'a')}, D_opt ~ C^{b:.2f}"
            if _identified(al):
                parts.append(f"{head}: {_lean(al)}")
            else:
                bad = ", ".join(sorted(res["parametric"]["fit"].get("unidentified", {})))
                why = f" (the L(N, D) fit's {bad} are not)" if bad else ""
                parts.append(f"{head}, not identified at this scale{why}, so no advice")
        elif res["isoflop"]["N_opt"].get("ok"):
            a = res["isoflop"]["N_opt"]["params"]["exponent"]
            parts.append(f"{_name(model)} (IsoFLOP minima only) N_opt ~ C^{a:.2f}")
    if not parts:
        return None
    text = "Compute-optimal allocation on the fitted L(N, D) with the measured cost model: " + \
        "; ".join(parts) + "."
    diff = result["comparison"].get("allocation_a", {})
    if diff.get("ok") and not _identified(diff):
        text += " The allocation exponents are not compared: they are not identified."
    elif diff.get("ok") and "p_value" in diff:
        text += (" The allocation exponents " + ("differ" if diff["differ"] else
                                                  "do not differ significantly") +
                 f" (bootstrap p {fmt_p(diff)}).")
    return text


def _data_law(node: dict) -> tuple[dict | None, str]:
    """The identified data-scaling law (offset first, then pure) and a note on the choice."""
    if _identified(node.get("offset_law", {})):
        return node["offset_law"], ""
    if _identified(node.get("power_law", {})):
        note = " (pure power law; the offset law is not identified at this scale)" \
            if node.get("offset_law", {}).get("ok") else ""
        return node["power_law"], note
    return None, ""


def _data(result: dict) -> str | None:
    parts, last, laws = [], {}, {}
    for model, res in result["models"].items():
        for label, node in res["data"].items():
            name = _name(model) + (" + augmentation" if label == "augment" else "")
            if not node.get("points"):
                continue
            last[(model, label)] = (node["points"]["n_train"][-1], node["points"]["L"][-1])
            at = f"loss {fmt(node['points']['L'][-1])} at n = {fmt(node['points']['n_train'][-1])}"
            fit, note = _data_law(node)
            if fit is None:
                if node.get("power_law", {}).get("ok") or node.get("offset_law", {}).get("ok"):
                    parts.append(f"{name}: no identified law at this scale, {at}")
                continue
            k = fit["params"]["exponent"]
            law = f"{name} L ~ n^{k:.3g}{_ci(fit, 'exponent')}{note}"
            if _includes_zero(fit, "exponent"):
                law += ": no measurable data scaling at this scale"
            else:
                laws[(model, label)] = (k, fit)
            parts.append(f"{law}, {at}")
    if not parts:
        return None
    text = "Data scaling (training-set size n in trajectories): " + "; ".join(parts) + "."
    plain, augm = laws.get((result["baseline"], "no_augment")), laws.get((result["baseline"],
                                                                         "augment"))
    base_name = _name(result["baseline"])
    if (result["baseline"], "augment") in last:
        if plain and augm:
            steeper = "steeper" if augm[0] < plain[0] else "shallower"
            text += (f" With augmentation the {base_name}'s loss falls {steeper} with data "
                     f"(exponent {augm[0]:.3g} vs {plain[0]:.3g}; point estimates, their "
                     "difference is not tested).")
        else:
            text += (f" The {base_name}'s data scaling with and without augmentation is not "
                     "compared: not both exponents are identified and measurable.")
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


def _reference(result: dict) -> str | None:
    """Each architecture's best loss against constant velocity; runs that end above it."""
    ref = result.get("reference", {})
    if not ref.get("ok") or not ref["models"]:
        return None
    parts, flagged = [], []
    for model, m in ref["models"].items():
        parts.append(f"{_name(model)}'s best run reaches {fmt(m['best'])}, "
                     f"{100 * m['ratio']:.0f}% of it (skill {m['skill']:+.2f})")
        if m["above"]:
            shown = ", ".join(m["above"][:3]) + (" ..." if len(m["above"]) > 3 else "")
            flagged.append(f"{len(m['above'])} of {_name(model)}'s {m['n_runs']} runs "
                           f"({shown})")
    text = (f"Against the constant-velocity reference (each vertex keeps its last motion; test "
            f"loss {fmt(ref['constant_velocity_loss'])}): " + "; ".join(parts) + ".")
    if "rigid_constant_velocity_loss" in ref:
        text += (f" (Each object repeating its last rigid motion, which both models predict "
                 f"before training, scores {fmt(ref['rigid_constant_velocity_loss'])}.)")
    if flagged:
        text += (" Runs ending at or above the reference learned nothing beyond extrapolation: "
                 + "; ".join(flagged) + ".")
    else:
        text += " Every run ends below it."
    if ref.get("note"):
        text += f" ({ref['note']}.)"
    return text


def conclusion(result: dict) -> list[str]:
    """Paragraphs: reference, winner and factor, exponents, wall clock, allocation, data,
    what this scale identifies (and at what budgets the rest would be), gaps."""
    paras = [p for p in (_reference(result), _winner(result), _exponents(result),
                         _wall(result), _allocation(result), _data(result), outlook(result))
             if p]
    if not result["comparison"].get("ok", True):
        paras.insert(0, f"No comparison: {result['comparison']['reason']}.")
    paras.append(f"Based on {result['n_runs']} finished runs and {result['n_bootstrap']} "
                 "run-level bootstrap resamples; intervals are 95% percentile intervals.")
    gaps = _gaps(result)
    if gaps:
        paras.append(gaps)
    return paras
