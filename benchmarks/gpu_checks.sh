#!/usr/bin/env bash
# The checks to run when a GPU machine is lent (one short call; the project never needs one):
#   1. the bare training step of the full-width E3D-S and X3D-S, fp32 and bf16 autocast, each with channels-last-3d
#      off and on (benchmarks/train_speed.py): at 16x224^2 batch 8 with cuDNN's autotuning off and on, at the
#      published input 13x160^2 batch 32 with it on (the README's table);
#   2. inference latency, fp32 and bf16, batch 1 and 8 (benchmarks/latency.py --device cuda);
#   3. the whole trainer on CUDA: a small motion benchmark, 2 epochs with bf16, then multi-view evaluation on CUDA,
#      then the same run under torchrun (1 process, nccl).
# Usage, from the repository root: bash benchmarks/gpu_checks.sh [OUTDIR]
# (default build/gpu: gpu_checks.log lands there)
# Python: $PY (default python3) must import torch with CUDA, numpy, pandas, scipy, tqdm, pillow and av (PyAV).
set -uo pipefail
out=${1:-build/gpu}
mkdir -p "$out"
PY=${PY:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
tmp=$(mktemp -d)
status=0
log=$out/gpu_checks.log
: >"$log"
step() {  # step NAME COMMAND...: run, append to the log, remember a failure, go on
    local name=$1; shift
    echo "== $name: $*" | tee -a "$log"
    local t0=$SECONDS
    "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc after $((SECONDS - t0)) s" | tee -a "$log"
    [ "$rc" = 0 ] || status=1
}

step device "$PY" -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))"
bare=("$PY" benchmarks/train_speed.py --bare --devices cuda)
step train_step_16x224 "${bare[@]}" --frames 16 --size 224 --batch 8
step train_step_16x224_autotuned "${bare[@]}" --frames 16 --size 224 --batch 8 --cudnn-benchmark
step train_step_13x160_autotuned "${bare[@]}" --frames 13 --size 160 --batch 32 --cudnn-benchmark
step latency_fp32 "$PY" benchmarks/latency.py --device cuda --threads 1
step latency_bf16 "$PY" benchmarks/latency.py --device cuda --threads 1 --dtype bfloat16
step data "$PY" -m e3dlib data generate motion --out "$tmp/motion" --videos 1000 --seed 0 --workers 8 --quiet
common=(--arch e3d-s --data "motion:$tmp/motion" --recipe proxy --epochs 2 --device cuda --bf16 true --workers 4
        --cache-dir "$tmp/cache" --no-progress --json)
step train_cuda "$PY" -m e3dlib train "${common[@]}" --out "$tmp/run"
step evaluate_cuda "$PY" -m e3dlib evaluate --checkpoint "$tmp/run/last.pt" --views 2x3 --device cuda --json
step torchrun_cuda "$PY" -m torch.distributed.run --standalone --nproc_per_node 1 -m e3dlib train "${common[@]}" \
    --out "$tmp/ddp"
rm -rf "$tmp"
echo "gpu_checks: $([ $status = 0 ] && echo 'every step passed' || echo 'a step failed (see the log)')" | tee -a "$log"
exit $status
