"""Every branch of the conclusion's wording follows the numbers: hand-built results (fast) for
each branch, and the analysis's identification flags on tables where a law cannot be pinned."""

import numpy as np
import pytest

from eqscale.scaling import fit_parametric, fit_power_law
from eqscale.scaling.analysis import analyse
from eqscale.scaling.conclusion import conclusion
from eqscale.scaling.fits import EXPONENT_BOUND
from eqscale.scaling.runtable import load_runs
from eqscale.scaling.summary import coefficient_rows
from tests.scaling.synthetic import DATA_LAWS, DataLaw, make_rows, write_table


def _fit(params, ci=None, identified=True, **extra):
    node = {"ok": True, "params": params, "ci": ci or {}, "identified": identified,
            "unidentified": {} if identified else {k: "ends on a bound" for k in params},
            "bootstrap_total": 100, **extra}
    return node


def _model(alloc=None, data=None, k=-0.1, k_ci=(-0.2, -0.05)):
    law = _fit({"A": 1.0, "exponent": k}, {"exponent": list(k_ci)})
    return {"frontier": {"points": {}, "power_law": law, "offset_law": {"ok": False,
                                                                        "reason": "few"}},
            "wall_frontier": {"points": {}, "power_law": law},
            "isoflop": {"N_opt": {"ok": False, "reason": "x"}, "D_opt": {"ok": False,
                                                                         "reason": "x"}},
            "parametric": {"fit": _fit({"E": 0.1, "A": 1.0, "B": 1.0, "alpha": 0.3,
                                        "beta": 0.3}),
                           "allocation": alloc or {"ok": False, "reason": "none"}},
            "cost_model": {"ok": False, "reason": "x"}, "data": data or {}}


def _result(mean=(0.85, 0.65, 1.04), wall=(0.80, 0.71, 0.87), gatr=None, transformer=None):
    comp = {"budgets": {"1e12": {"ok": True, "params": {"ratio": mean[0]}}},
            "mean_ratio": _fit({"ratio": mean[0]}, {"ratio": list(mean[1:])}),
            "wall_ratio": _fit({"ratio": wall[0]}, {"ratio": list(wall[1:])}, seconds=20.0)}
    return {"n_runs": 40, "n_bootstrap": 100, "equivariant": "gatr", "baseline": "transformer",
            "models": {"gatr": gatr or _model(), "transformer": transformer or _model()},
            "comparison": comp}


def _text(result):
    return " ".join(conclusion(result))


def test_wall_sentence_names_the_leader_and_does_not_invent_a_per_flop_advantage():
    text = _text(_result(mean=(0.85, 0.65, 1.04), wall=(0.80, 0.71, 0.87)))
    assert "Per FLOP, neither model is clearly better" in text
    assert "the Transformer is ahead per second and the interval excludes 1" in text
    assert "while per FLOP neither model is clearly better" in text
    assert "survives" not in text
    text = _text(_result(mean=(0.7, 0.6, 0.8), wall=(0.8, 0.7, 0.9)))
    assert "the per-FLOP advantage survives per second, but smaller" in text
    text = _text(_result(mean=(1.5, 1.2, 1.8), wall=(0.8, 0.7, 0.9)))
    assert "the per-FLOP ranking reverses" in text
    text = _text(_result(mean=(1.5, 1.2, 1.8), wall=(1.1, 0.9, 1.3)))
    assert "the GATr is nominally ahead per second, but the interval includes 1" in text
    assert "the GATr's per-FLOP advantage is not established per second" in text
    text = _text(_result(mean=(0.9, 0.7, 1.1), wall=(1.1, 0.9, 1.3)))
    assert "neither model is clearly better per FLOP or per second" in text


def _alloc(a, b, a_ci, b_ci, identified=True):
    return _fit({"G": 1.0, "a": a, "b": b}, {"a": list(a_ci), "b": list(b_ci)}, identified)


def test_allocation_advises_only_when_the_intervals_support_it():
    clear = _model(alloc=_alloc(0.2, 0.8, (0.1, 0.3), (0.7, 0.9)))
    overlap = _model(alloc=_alloc(0.03, 0.97, (0.004, 0.6), (0.4, 0.99)))
    text = _text(_result(gatr=clear, transformer=overlap))
    assert "GATr N_opt ~ C^0.20" in text and "grow training samples faster" in text
    assert text.count("grow training samples faster") == 1
    assert "do not settle whether size or samples should grow faster" in text
    bad = _model(alloc=_alloc(0.03, 0.97, (0.1, 0.3), (0.7, 0.9), identified=False))
    bad["parametric"]["fit"] = _fit({"alpha": 3.0}, identified=False)
    text = _text(_result(gatr=bad))
    assert "not identified at this scale (the L(N, D) fit's alpha are not), so no advice" in text


def _data_node(pure, offset):
    return {"points": {"n_train": [8, 256], "L": [0.04, 0.03]}, "power_law": pure,
            "offset_law": offset}


def test_data_sentence_uses_identified_fits_and_says_when_there_is_no_scaling():
    absurd = _fit({"E": 0.03, "A": 1e37, "exponent": -3.0}, identified=False)
    flat = _fit({"A": 0.03, "exponent": 0.009}, {"exponent": [-0.02, 0.06]})
    falling = _fit({"A": 0.04, "exponent": -0.038}, {"exponent": [-0.079, -0.001]})
    gatr = _model(data={"no_augment": _data_node(flat, absurd)})
    trans = _model(data={"no_augment": _data_node(falling, absurd),
                         "augment": _data_node(flat, absurd)})
    text = _text(_result(gatr=gatr, transformer=trans))
    assert "n^-3" not in text and "e+37" not in text
    assert "GATr L ~ n^0.009 (95% interval -0.02 to 0.06) (pure power law; the offset law " \
           "is not identified at this scale): no measurable data scaling at this scale" in text
    assert "Transformer L ~ n^-0.038" in text
    assert "not compared: not both exponents are identified and measurable" in text
    steep = _fit({"A": 0.05, "exponent": -0.2}, {"exponent": [-0.3, -0.1]})
    trans["data"]["augment"] = _data_node(steep, absurd)
    text = _text(_result(gatr=gatr, transformer=trans))
    assert "With augmentation the Transformer's loss falls steeper with data " \
           "(exponent -0.2 vs -0.038" in text


def test_compute_sentence_does_not_claim_loss_falls_when_the_interval_includes_zero():
    text = _text(_result(gatr=_model(k=-0.13, k_ci=(-0.44, 0.25))))
    assert "Loss falls" not in text
    assert "The interval of GATr includes 0: no measurable compute scaling" in text


def test_bounded_fits_report_ending_on_the_bound():
    rng = np.random.default_rng(0)
    n = np.array([32.0, 64.0, 128.0, 256.0])
    y = 0.031 + np.array([0.002, -0.001, 0.0005, 0.0])  # flat noise: nothing to identify
    law = fit_power_law(n, y, offset=True)
    assert abs(law.exponent) <= EXPONENT_BOUND
    N = rng.uniform(1e4, 1e6, 12)
    D = rng.uniform(1e5, 1e7, 12)
    fit = fit_parametric(N, D, 0.05 + 3.0 * D**-0.3)  # no N dependence at all
    assert 0.0 <= fit.alpha <= EXPONENT_BOUND and 0.0 <= fit.beta <= EXPONENT_BOUND
    assert fit.beta == pytest.approx(0.3, abs=0.02)
    assert "alpha" in fit.at_bound or fit.A < 1e-6


@pytest.fixture(scope="module")
def four_sizes(tmp_path_factory):
    laws = {k: DataLaw(E=0.03, A=1e-4, gamma=0.1) for k in DATA_LAWS}  # next to no scaling
    rows = make_rows(budgets=(1e12, 1e13), sizes_per_budget=3, data_sizes=(32, 64, 128, 256),
                     noise=0.02, seed=7, data_laws=laws)
    path = write_table(rows, tmp_path_factory.mktemp("four") / "runs.csv")
    return analyse(load_runs(path), n_bootstrap=8, seed=0)


def test_too_few_fittable_resamples_give_no_interval_and_a_flag(four_sizes):
    offset = four_sizes["models"]["gatr"]["data"]["no_augment"]["offset_law"]
    assert offset["ok"] and offset["bootstrap_ok"] < 4
    assert offset["ci"] == {} and "resamples could be fitted" in offset["ci_withheld"]
    assert offset["identified"] is False
    notes = [r.note for r in coefficient_rows(four_sizes)
             if r.law == "data scaling L = E + A n^k (no augmentation)"]
    assert notes and all("not identified at this scale" in n for n in notes)
    text = " ".join(conclusion(four_sizes))
    assert f"n^{offset['params']['exponent']:.3g}" not in text


def test_comparison_of_unidentified_allocations_is_flagged(four_sizes):
    comp = four_sizes["comparison"]["allocation_a"]
    sources = [four_sizes["models"][m]["parametric"]["allocation"] for m in ("gatr",
                                                                          "transformer")]
    assert comp["ok"] and not all(s["identified"] for s in sources)  # 6 runs cannot pin alpha
    assert comp["identified"] is False
    assert "allocation exponents are not compared" in " ".join(conclusion(four_sizes))
