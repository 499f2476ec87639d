#!/usr/bin/env bash
# The whole GPU check in one call, on a machine with a GPU (run by `make bench-gpu OUT=<folder>`):
#   1. installs what the machine lacks from the wheels and the Fashion-MNIST .deb carried in .whl/ (`make gpu-wheels`
#      fills it on a machine with a package registry); torch, pytorch-lightning, timm and torchmetrics must be there;
#   2. repro bench: PreAct ResNet18 width 64 at batch 128 and 512 — classic loader, device-resident, + bf16 +
#      channels_last, + compile, + CUDA graphs — with TFLOP/s and % of the bf16 peak;
#   3. repro bench --stacked 32 (token transformers) and --stacked 32 --model mlp;
#   4. the double-descent gpu study (configs/double_descent/gpu.yaml): verdict, report and figure;
# and writes every result into OUT, as at most 8 files (what a device call can bring back). TINY=1 makes every step
# seconds long, to try the script end to end on a CPU before spending device time.
set -uo pipefail  # not -e: a failing step is logged and the others still run
cd "$(dirname "$0")/../.."
OUT=${OUT:?set OUT to the output folder}
TINY=${TINY:-0}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" WANDB_MODE=disabled REPRO_DATA="${REPRO_DATA:-$PWD/data}"
PY=${PYTHON:-python}
WORK=$(mktemp -d)
status=0
step() {  # step NAME COMMAND...: run, time, log; a failure is recorded, not fatal
  local name=$1; shift
  echo "== $name: $*" | tee -a "$OUT/steps.log"
  local start=$SECONDS
  "$@" >>"$OUT/steps.log" 2>&1
  local rc=$?
  if [ $rc = 0 ]; then
    echo "   $name: ok in $((SECONDS - start)) s" | tee -a "$OUT/steps.log"
  elif [ $rc = 1 ] && [ "$TINY" = 1 ] && [ "$name" = double-descent-gpu ]; then  # two 1-epoch widths: no peak
    echo "   $name: ran in $((SECONDS - start)) s (its claims FAIL at TINY=1 scale, as expected)" | tee -a "$OUT/steps.log"
  else  # repro reproduce: 1 = it ran and a claim failed (a verdict, e.g. under TINY=1), 2 = an error
    echo "   $name: FAILED (exit $rc) after $((SECONDS - start)) s" | tee -a "$OUT/steps.log"
    status=1
  fi
}

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())"
} >"$OUT/steps.log" 2>&1

if ls .whl/*.whl >/dev/null 2>&1; then
  step install-wheels $PY -m pip install --no-index --find-links .whl --no-deps -q .whl/*.whl
fi
if ls .whl/dataset-fashion-mnist*.deb >/dev/null 2>&1; then
  step fashion-mnist $PY -m repro.cli data fashion_mnist --from-deb "$(ls .whl/dataset-fashion-mnist*.deb | head -1)"
fi
step imports $PY -c "import repro.cli, repro.bench, repro.studies.runner, matplotlib, rich, jsonargparse"

if [ "$TINY" = 1 ]; then
  BENCH=(--images 256 --batch-size 32 --width 4 --steps 2 --repeats 1 --warmup 1)
  STACKED=(--stacked 2 --steps 2 --repeats 1 --warmup 1)
  STUDY=(--grid "model.init_args.backbone.init_args.width=[2,4]" --set trainer.max_epochs=1
         --set trainer.check_val_every_n_epoch=1 --set data.init_args.train_size=256)
else
  BENCH=(--batch-size 128,512 --compile --cuda-graphs)
  STACKED=(--stacked 32)
  STUDY=()
fi
step bench $PY -m repro.cli bench "${BENCH[@]}" --out "$WORK/bench"
step stacked-transformer $PY -m repro.cli bench "${STACKED[@]}" --out "$WORK/stacked_transformer"
step stacked-mlp $PY -m repro.cli bench "${STACKED[@]}" --model mlp --out "$WORK/stacked_mlp"
step double-descent-gpu $PY -m repro.cli reproduce double_descent --scale gpu --no-progress --out "$WORK/results" \
  "${STUDY[@]}"

# At most 8 files come back from a device call: the JSONs hold every CSV row.
cp "$WORK/bench/bench.json" "$OUT/bench.json" 2>/dev/null
cp "$WORK/stacked_transformer/bench_stacked.json" "$OUT/bench_stacked_transformer.json" 2>/dev/null
cp "$WORK/stacked_mlp/bench_stacked.json" "$OUT/bench_stacked_mlp.json" 2>/dev/null
study="$WORK/results/double_descent/gpu"
cp "$study/report.md" "$OUT/double_descent_gpu_report.md" 2>/dev/null
cp "$study/results.csv" "$OUT/double_descent_gpu_results.csv" 2>/dev/null
cp "$study/gpu.png" "$OUT/double_descent_gpu.png" 2>/dev/null
cp "$study/claims.json" "$OUT/double_descent_gpu_claims.json" 2>/dev/null
echo "done: exit $status; files in $OUT: $(ls "$OUT" | tr '\n' ' ')" | tee -a "$OUT/steps.log"
rm -rf "$WORK"
exit $status
