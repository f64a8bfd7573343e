"""The fair comparison, measured: each arm trained with the product's training loop for a fixed
number of steps, its test loss beside the reference predictors', and its learning curve.

    python benchmarks/fair_comparison.py --data DATA --out DIR \
        --arm transformer:3:1e-3 --arm transformer+augment:3:1e-3 --arm gatr:2:1e-3 \
        [--steps 3000] [--batch-size 16] [--eval-every 500]

An arm is ``MODEL[+augment]:SIZE:LR``; several ``--arm`` with one model and different rates
make a learning-rate grid. Runs go to ``DIR/<arm>-s<size>-lr<lr>`` (resumed if present), with
no early stopping, validation on up to 1024 samples every ``--eval-every`` steps and the test
loss on the whole test split. Prints one table: test loss, the constant-velocity and rigid
constant-velocity losses on the same samples, skill ``1 - L / L_cv`` and the learned part
``1 - L / L_rigid`` (what the network adds to the shared prior), wall time; then each run's
validation loss against steps. docs/models.md records the numbers of the 2,000-trajectory
dataset (``eqscale generate --out d --train 2000 --val 100 --test 200 --seed 3
--faces-per-object 8``). Run several in parallel with one thread each (``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def parse_arm(text: str) -> tuple[str, bool, int, float]:
    try:
        arm, size, lr = text.split(":")
        model, _, aug = arm.partition("+")
        if aug not in ("", "augment"):
            raise ValueError(aug)
        return model, aug == "augment", int(size), float(lr)
    except ValueError:
        raise SystemExit(f"bad --arm {text!r}; expected MODEL[+augment]:SIZE:LR") from None


def run_arm(data: str, out: Path, model: str, augment: bool, size: int, lr: float,
            steps: int, batch_size: int, eval_every: int) -> tuple[dict, list[tuple[int, float]]]:
    import torch

    from eqscale.train.config import TrainConfig
    from eqscale.train.loop import run_training

    torch.set_num_threads(1)
    config = TrainConfig(model=model, size=size, steps=steps, batch_size=batch_size, lr=lr,
                         augment=augment, eval_every=eval_every, checkpoint_every=eval_every,
                         val_samples=1024, patience=None, test_samples=None,
                         rollout_trajectories=16, equivariance_transforms=1,
                         eval_batch_size=64)
    result = run_training(config, data, out, quiet=True)
    curve = []
    for line in (out / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("kind") == "val":
            curve.append((record["step"], record["val_loss"]))
    return result, curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--arm", action="append", required=True, help="MODEL[+augment]:SIZE:LR")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--eval-every", type=int, default=500)
    args = parser.parse_args()
    rows, curves = [], []
    for text in args.arm:
        model, augment, size, lr = parse_arm(text)
        name = f"{model}{'+augment' if augment else ''}-s{size}-lr{lr:g}"
        result, curve = run_arm(args.data, Path(args.out) / name, model, augment, size, lr,
                                args.steps, args.batch_size, args.eval_every)
        loss, cv = result["test_loss"], result["constant_velocity_loss"]
        rigid = result["rigid_constant_velocity_loss"]
        rows.append(f"| {name} | {result['steps']} | {loss:.5f} | {cv:.5f} | {rigid:.5f} | "
                    f"{1 - loss / cv:+.3f} | {1 - loss / rigid:+.3f} | "
                    f"{result['wall_seconds']:.0f} |")
        curves.append(f"| {name} | " + " | ".join(f"{v:.5f}" for _, v in curve) + " |")
        steps_header = " | ".join(str(s) for s, _ in curve)
    print("| run | steps | test loss | constant velocity | rigid constant velocity | skill | "
          "learned (vs rigid) | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nvalidation loss at step | {steps_header} |")
    print("\n".join(curves))


if __name__ == "__main__":
    main()
