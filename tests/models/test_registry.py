"""The architecture registry: one list of architectures, open to a third one through a plugin
module that every process (sweep workers included) imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from eqscale.errors import EqscaleError
from eqscale.models import build_model, flops_per_sample, parameter_count
from eqscale.models.registry import (
    Architecture,
    architecture,
    display_name,
    load_plugins,
    names,
    register,
    unregister,
    variants,
)
from eqscale.models.sizes import TransformerSize

NARROW = (TransformerSize(width=8, depth=2, heads=2), TransformerSize(width=16, depth=2, heads=2))


def _build_narrow(config, faces_per_object):
    from eqscale.models.transformer import TransformerTaskModel

    return TransformerTaskModel(config, faces_per_object)


@pytest.fixture()
def narrow():
    arch = register(Architecture("narrow", NARROW, _build_narrow, label="Narrow"))
    yield arch
    unregister("narrow")


def test_the_study_architectures_are_registered_once():
    assert names() == ("gatr", "transformer")
    assert variants() == ("gatr", "transformer", "gatr+augment", "transformer+augment")
    assert architecture("gatr").equivariant and not architecture("transformer").equivariant
    assert display_name("gatr", long=True) == "GATr (equivariant)"
    assert display_name("not-registered") == "not-registered"
    with pytest.raises(EqscaleError, match="unknown model 'mlp'; choose one of gatr, transformer"):
        architecture("mlp")


def test_a_registered_architecture_is_built_counted_and_accepted_everywhere(narrow):
    from eqscale.study.spec import ComputeStudy, DataStudy
    from eqscale.train.config import make_config

    model = build_model("narrow", 1, faces_per_object=4)
    assert sum(p.numel() for p in model.parameters()) == parameter_count("narrow", 1)
    assert flops_per_sample("narrow", 0, 3, 4) == NARROW[0].flops(3.0, 4)
    assert make_config("tiny", model="narrow", size=0).model == "narrow"
    assert ComputeStudy(budgets=(1e9,), sizes={"narrow": (0, 1)}).models == ("narrow",)
    assert DataStudy(train_sizes=(4,), size=0, steps=5,
                     variants=("narrow", "narrow+augment")).variants[1] == "narrow+augment"
    # A study's default arms stay the study's own two: a plugin joins when a spec names it.
    assert DataStudy(train_sizes=(4,), size=0, steps=5).variants == (
        "gatr", "transformer", "transformer+augment")
    with pytest.raises(EqscaleError, match="already registered"):
        register(Architecture("narrow", NARROW, _build_narrow, label="Again"))
    with pytest.raises(EqscaleError, match="size 2 is out of range"):
        parameter_count("narrow", 2)


def test_bad_architectures_and_plugins_are_one_line_errors():
    with pytest.raises(EqscaleError, match="no sizes"):
        Architecture("empty", (), _build_narrow, label="Empty")
    with pytest.raises(EqscaleError, match="letters, digits"):
        Architecture("a b", NARROW, _build_narrow, label="Spaces")
    with pytest.raises(EqscaleError, match="cannot import 'no_such_plugin_module'"):
        load_plugins("no_such_plugin_module")


def test_a_plugin_module_registers_in_every_process(tmp_path, tiny_dataset):
    """EQSCALE_PLUGINS names a module that registers a third architecture: a fresh process
    lists it on the command line and trains it like a built-in one."""
    (tmp_path / "third_arm.py").write_text(textwrap.dedent("""
        from eqscale.models.registry import Architecture, register
        from eqscale.models.sizes import TransformerSize


        def build(config, faces_per_object):
            from eqscale.models.transformer import TransformerTaskModel

            return TransformerTaskModel(config, faces_per_object)


        register(Architecture("third", (TransformerSize(width=8, depth=2, heads=2),), build,
                              label="Third"))
    """))
    env = dict(os.environ, EQSCALE_PLUGINS="third_arm", OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    run = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "eqscale", "train", "--model", "third", "--size", "0", "--data",
         str(tiny_dataset), "--out", str(run), "--preset", "tiny", "--steps", "3", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((run / "result.json").read_text())
    assert result["status"] == "finished" and result["model"] == "third"
    bad = dict(env, EQSCALE_PLUGINS="third_arm,missing_plugin")
    proc = subprocess.run([sys.executable, "-m", "eqscale", "--help"], capture_output=True,
                          text=True, env=bad, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "cannot import 'missing_plugin'" in proc.stderr
