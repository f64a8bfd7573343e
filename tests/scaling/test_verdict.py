"""The verdict table: each answer follows the deciding number and its interval, nothing else."""

from eqscale.scaling.analysis import analyse
from eqscale.scaling.runtable import load_runs
from eqscale.scaling.verdict import (
    CONTRADICTED,
    NOT_IDENTIFIED,
    SUPPORTED,
    allocation,
    augmentation,
    data_efficiency,
    per_flop,
    per_second,
    power_law,
    verdicts,
)
from tests.scaling.synthetic import LAWS, make_rows, write_table


def ratio(r, lo=None, hi=None):
    node = {"ok": True, "params": {"ratio": r}}
    if lo is not None:
        node["ci"] = {"ratio": [lo, hi]}
    return node


def law(k, lo, hi, identified=True):
    return {"ok": True, "params": {"A": 1.0, "exponent": k}, "ci": {"exponent": [lo, hi]},
            "identified": identified}


def result(gatr_law=None, transformer_law=None, **comparison):
    models = {m: {"frontier": {"power_law": f or law(-0.2, -0.3, -0.1)}}
              for m, f in (("gatr", gatr_law), ("transformer", transformer_law))}
    return {"equivariant": "gatr", "baseline": "transformer", "models": models,
            "comparison": {"budgets": {}, **comparison}}


def test_a_loss_ratio_is_judged_by_where_its_interval_lies():
    assert per_flop(result(mean_ratio=ratio(2.0, 1.5, 2.5))).answer == SUPPORTED
    v = per_flop(result(mean_ratio=ratio(0.5, 0.4, 0.6)))
    assert v.answer == CONTRADICTED and "Transformer lower" in v.reason
    assert v.number.startswith("Transformer / GATr") and "[0.4, 0.6]" in v.number
    v = per_second(result(wall_ratio={**ratio(1.1, 0.9, 1.3), "seconds": 12.0}))
    assert v.answer == NOT_IDENTIFIED and "includes 1" in v.reason and "12 s" in v.number
    assert "no bootstrap interval" in per_flop(result(mean_ratio=ratio(3.0))).reason
    v = data_efficiency(result(data_ratio={"ok": False, "reason": "needs data-study runs"}))
    assert v.answer == NOT_IDENTIFIED and v.reason == "needs data-study runs"
    v = data_efficiency(result())  # an old fits.json without the data ratio
    assert v.answer == NOT_IDENTIFIED and v.number == "-"
    v = data_efficiency({**result(), "comparison": {"ok": False, "reason": "needs both"}})
    assert v.answer == NOT_IDENTIFIED and v.reason == "needs both"


def test_augmentation_closes_only_a_gap_that_was_there():
    gap = result(data_ratio=ratio(2.0, 1.5, 2.5), augment_ratio=ratio(1.0, 0.9, 1.1))
    assert augmentation(gap, data_efficiency(gap)).answer == SUPPORTED
    remains = result(data_ratio=ratio(2.0, 1.5, 2.5), augment_ratio=ratio(1.3, 1.2, 1.4))
    v = augmentation(remains, data_efficiency(remains))
    assert v.answer == CONTRADICTED and "remains" in v.reason
    overlap = result(data_ratio=ratio(2.0, 1.5, 2.5), augment_ratio=ratio(1.2, 0.95, 1.6))
    assert augmentation(overlap, data_efficiency(overlap)).answer == NOT_IDENTIFIED
    ahead = result(data_ratio=ratio(0.6, 0.5, 0.8), augment_ratio=ratio(0.5, 0.4, 0.6))
    v = augmentation(ahead, data_efficiency(ahead))
    assert v.answer == NOT_IDENTIFIED and "no gap to close" in v.reason
    none = result(data_ratio=ratio(2.0, 1.5, 2.5))
    assert augmentation(none, data_efficiency(none)).answer == NOT_IDENTIFIED


def test_power_law_needs_every_exponent_below_zero():
    assert power_law(result()).answer == SUPPORTED
    v = power_law(result(transformer_law=law(-0.05, -0.2, 0.1)))
    assert v.answer == NOT_IDENTIFIED and "Transformer's interval includes 0" in v.reason
    assert power_law(result(gatr_law=law(0.3, 0.1, 0.5))).answer == CONTRADICTED
    v = power_law(result(gatr_law=law(-0.2, -0.3, -0.1, identified=False)))
    assert v.answer == NOT_IDENTIFIED and "not identified" in v.reason
    v = power_law(result(gatr_law={"ok": False, "reason": "needs 2 points"}))
    assert v.answer == NOT_IDENTIFIED and "GATr: not fitted" in v.reason


def test_allocation_differs_agrees_or_stays_open():
    def diff(d, lo, hi, identified=True):
        return {"ok": True, "params": {"difference": d}, "ci": {"difference": [lo, hi]},
                "identified": identified}

    v = allocation(result(allocation_a=diff(0.2, 0.1, 0.3)))
    assert v.answer == SUPPORTED and "GATr should grow model size faster" in v.reason
    assert allocation(result(allocation_a=diff(0.01, -0.03, 0.04))).answer == CONTRADICTED
    assert allocation(result(allocation_a=diff(0.1, -0.1, 0.3))).answer == NOT_IDENTIFIED
    v = allocation(result(allocation_a=diff(0.2, 0.1, 0.3, identified=False)))
    assert v.answer == NOT_IDENTIFIED and "not identified" in v.reason


def test_verdicts_of_an_analysis_follow_the_laws(tmp_path):
    """The synthetic GATr is ~2x better and augmentation closes most of the gap; swapping the
    laws swaps the answers: nothing is written in advance."""
    rows = make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=3, seed=4)
    res = analyse(load_runs(write_table(rows, tmp_path / "a.csv")), 8)
    answers = {v.claim.split(" ")[0] + v.figure: v.answer for v in verdicts(res)}
    assert len(verdicts(res)) == 6
    assert answers["GATrloss_vs_data"] == SUPPORTED
    assert answers["GATrloss_vs_compute"] == SUPPORTED
    assert answers["Lossloss_vs_compute"] == SUPPORTED
    swapped = {"gatr": LAWS["transformer"], "transformer": LAWS["gatr"]}
    rows = make_rows(budgets=(1e12, 1e13, 1e14), sizes_per_budget=3, seed=4, laws=swapped)
    res = analyse(load_runs(write_table(rows, tmp_path / "b.csv")), 8)
    answers = {v.claim.split(" ")[0] + v.figure: v.answer for v in verdicts(res)}
    assert answers["GATrloss_vs_compute"] == CONTRADICTED
