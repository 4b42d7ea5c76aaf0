#!/usr/bin/env bash
# Every GPU measurement and the whole reproduction in one call (device tool: one H200, 10 minutes a call).
#
#   bash bench/gpu_check.sh            on the GPU machine: figures to $OUT/gpu_figures.txt, results and
#                                      checkpoints to $OUT/reproduce.tar (results/, checkpoints/, RESULTS.md)
#   bash bench/gpu_check.sh --dry-run  here, no GPU: the same steps on the CPU with tiny settings, in seconds
#
# Data: stage it first (../shared/STACK-NOTES.md, "Data on a GPU machine"), LABS_DATA_DIR pointing at it.
# The GPU machine's python3 has torch, scikit-learn and pandas but not plotly/gradio: carry wheels if an
# import fails (the first step says so). Each step has its own time limit so one slow step cannot eat the call.
set -uo pipefail
dry=0
[ "${1:-}" = "--dry-run" ] && dry=1
out=${OUT:-$(mktemp -d -t labs-gpu-check-XXXX)}
work=${WORK:-$out/work}  # on the GPU machine: a folder outside $OUT (emptied per call), so a rerun resumes
[ $dry = 0 ] && work=${WORK:-/tmp/labs-reproduce}
mkdir -p "$out" "$work"
log="$out/gpu_figures.txt"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
step() {  # step SECONDS CMD...: run, log, never stop the script
  local limit=$1; shift
  echo "\$ $*  (limit ${limit} s)" | tee -a "$log"
  local t0=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$log"
  echo "  -> exit ${PIPESTATUS[0]} after $((SECONDS - t0)) s" | tee -a "$log"
}
{ date -u; uname -m; $py -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } \
  2>&1 | tee "$log"
step 60 $py -c "import labs.reproduce.stages, labs.residual.experiment, labs.transfer.experiment, labs.ood.experiment; print('imports ok')"
if [ $dry = 1 ]; then
  step 120 $py bench/train_throughput.py --device cpu --steps 2 --warmup 1 --repeats 1 --batch-size 32
  LABS_SPEED_FILE="$out/speed.json" step 60 $py -m labs speedtest --device cpu
  step 300 $py -m labs reproduce --dry-run --out "$work" --threads "$(nproc)"
  step 30 $py -m labs reproduce --status --out "$work"
else
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$log"
  LABS_SPEED_FILE="$out/speed.json" step 60 $py -m labs speedtest --device cuda  # vs eta's 40,000 img/s reference
  step 120 $py bench/train_throughput.py --device cuda --steps 50 --warmup 10 --repeats 3 --batch-size 512 --compile
  step 120 $py bench/time_to_accuracy.py --device cuda --epochs 4,8
  step 420 $py -m labs reproduce --device cuda --out "$work"  # resumable: rerun the script to continue
  step 30 $py -m labs reproduce --status --out "$work"  # what is produced, and how far the rest got
fi
tar --exclude=.state -C "$work" -cf "$out/reproduce.tar" . && echo "results: $out/reproduce.tar" | tee -a "$log"
echo "figures: $log" | tee -a "$log"
