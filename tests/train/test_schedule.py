"""Warmup + cosine schedule: shape, endpoints, and that LambdaLR follows it."""

import math

import torch

from eqscale.train.schedule import lr_factor, make_scheduler


def test_warmup_is_linear_then_cosine_reaches_the_floor_at_the_last_step():
    total, warm, floor = 100, 0.1, 0.05
    f = [lr_factor(s, total, warm, floor) for s in range(total)]
    assert f[0] == 0.1 and f[9] == 1.0  # 10 warmup steps, the first already moves
    assert all(b > a for a, b in zip(f[:10], f[1:10]))
    assert all(b <= a for a, b in zip(f[10:], f[11:]))
    assert math.isclose(f[-1], floor)
    mid = 10 + (total - 10 - 1) / 2
    assert math.isclose(lr_factor(int(mid), total, warm, floor),
                        floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * int(mid - 10) / 89)))


def test_degenerate_horizons_do_not_divide_by_zero():
    assert lr_factor(0, 1, 0.0, 0.1) == 1.0
    assert lr_factor(0, 2, 0.5, 0.1) == 1.0
    assert lr_factor(1, 2, 0.5, 0.1) == 1.0


def test_scheduler_sets_the_optimizer_learning_rate():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=2.0)
    sched = make_scheduler(opt, 20, 0.2, 0.0)
    seen = []
    for _ in range(20):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == [2.0 * lr_factor(s, 20, 0.2, 0.0) for s in range(20)]
