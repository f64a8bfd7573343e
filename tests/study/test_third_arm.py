"""A third architecture in the same study: the worked example of examples/principal_axes.py,
registered as a plugin, is trained, fitted and reported like the built-in two."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_tiny_study_trains_fits_and_reports_a_third_arm(spec, tiny_dataset, tmp_path):
    """Through EQSCALE_PLUGINS every process (the sweep's two pool workers included) knows
    the architecture; the run table, the fits and the report carry it."""
    study = spec.to_dict()  # edited as JSON: this process does not know the plugin
    study.update(name="third-arm", data_study=None)
    study["compute"].update(models=["transformer", "principal_axes"],
                            sizes={"transformer": [1, 2], "principal_axes": [1, 2]})
    study["lr"]["sizes"] = {"transformer": 1, "principal_axes": 1}
    study["learning_rates"] = {}
    spec_file = tmp_path / "study.json"
    spec_file.write_text(json.dumps(study))
    env = dict(os.environ, EQSCALE_PLUGINS="principal_axes", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(EXAMPLES), *sys.path]))
    out = tmp_path / "study"
    for args in (["sweep", "run", "--study", str(spec_file), "--out", str(out), "--data",
                  str(tiny_dataset), "--workers", "2"],
                 ["fit", "--runs", str(out), "--bootstrap", "2"],
                 ["report", "--runs", str(out), "--bootstrap", "2"]):
        proc = subprocess.run([sys.executable, "-m", "eqscale", *args], capture_output=True,
                              text=True, env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "runs.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["kind"] == "compute"]
    third = [r for r in rows if r["model"] == "principal_axes"]
    assert third and all(r["status"] == "finished" for r in third)
    assert {r["model"] for r in rows} == {"transformer", "principal_axes"}
    fits = json.loads((out / "fits.json").read_text())
    assert "principal_axes" in fits["models"]
    assert "principal-axes inputs" in (out / "report" / "report.md").read_text()
