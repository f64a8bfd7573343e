#!/usr/bin/env bash
# The GPU check: everything eqscale does only on CUDA, in one run of under 8 minutes on one GPU.
#
#   benchmarks/gpu_check.sh [OUT]          (default OUT: gpu-check; results in OUT/*.json)
#
# 1. bf16 training (autocast on CUDA) of both models at size $SIZE for $STEPS steps, eager and
#    torch.compile'd: step time, compile time, final losses (they should agree);
# 2. torchrun data parallel over the GPUs present (NCCL), the same run;
# 3. `eqscale bench models --device cuda`: step times and utilisation against the bf16 matmul
#    peak measured in the same run.
# Record what it prints in docs/benchmarks.md. DEVICE=cpu SIZE=0 STEPS=4 MODES=no-compile runs
# the same steps on a CPU as a smoke test of the script itself (Gloo instead of NCCL, no bf16).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-gpu-check}"
DEVICE="${DEVICE:-cuda}"
SIZE="${SIZE:-4}"
STEPS="${STEPS:-200}"
MODES="${MODES:-no-compile compile}"  # MODES=no-compile skips the compiled runs
EQ="${EQSCALE:-bin/eqscale}"
mkdir -p "$OUT"
start=$(date +%s)
say() { echo "[gpu_check +$(( $(date +%s) - start ))s] $*"; }

say "device $DEVICE: $("${PYTHON:-.venv/bin/python}" -c 'import torch; print(torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0))' 2>/dev/null || echo '?')"
if [ ! -f "$OUT/data/manifest.json" ]; then
    say "dataset: 512 train trajectories, 32 faces per object"
    "$EQ" generate --out "$OUT/data" --train 512 --val 32 --test 32 --faces-per-object 32 \
        --workers "$(nproc)" --seed 1
fi

for model in gatr transformer; do
    for compile in $MODES; do
        run="$OUT/runs/$model-s$SIZE-$compile"
        rm -rf "$run"
        say "train $model size $SIZE, $STEPS steps, --$compile"
        "$EQ" train --model "$model" --size "$SIZE" --data "$OUT/data" --out "$run" \
            --preset demo --steps "$STEPS" --batch-size 32 --eval-every "$STEPS" \
            --device "$DEVICE" --"$compile" --quiet
        "${PYTHON:-.venv/bin/python}" - "$run/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"  {r['model']} size {r['size']}: {r['steps']} steps in {r['wall_seconds']:.1f} s "
      f"(compile {r.get('compile_seconds') or 0:.1f} s), test loss {r['test_loss']:.5g}, "
      f"constant velocity {r['constant_velocity_loss']:.5g}, device {r['device']}")
PY
    done
done

if [ "$DEVICE" = cuda ]; then
    gpus=$("${PYTHON:-.venv/bin/python}" -c 'import torch; print(torch.cuda.device_count())')
else
    gpus=2
fi
say "torchrun over $gpus process(es) ($([ "$DEVICE" = cuda ] && echo NCCL || echo Gloo))"
run="$OUT/runs/ddp-gatr-s$SIZE"
rm -rf "$run"
"${PYTHON:-.venv/bin/python}" -m torch.distributed.run --standalone --nproc_per_node="$gpus" \
    -m eqscale train --model gatr --size "$SIZE" --data "$OUT/data" --out "$run" \
    --preset demo --steps "$STEPS" --batch-size 32 --eval-every "$STEPS" --device "$DEVICE" \
    --quiet
grep -o '"world_size": [0-9]*' "$run/result.json"

say "bench models"
if [ "$DEVICE" = cuda ]; then
    "$EQ" bench models --device cuda --out "$OUT/bench_models.json"
else
    "$EQ" bench models --device cpu --quick --out "$OUT/bench_models.json"
fi
say "done; results under $OUT"
