#!/usr/bin/env bash
# The GPU checks of issue 12, prepared to run once on a GPU machine (H200) in well under 10 minutes.
#
#   bash benchmarks/gpu_check.sh            # from the repository root; output also in $OUT/gpu_check.log
#
# On this workplace's device machine (torch, onnxruntime, opencv, scipy, click, rich, pyyaml and
# safetensors are in its image; nothing can be downloaded there, and the run path needs none of
# decord, av or filterpy), with the device tool:
#   run(command="bash benchmarks/gpu_check.sh", timeout_s=590)
# Each step has its own time limit; a failing step is reported and the next one still runs.
# Prints, in order:
#   1. the CUDA tests (pytest -m gpu) and the CPU ONNX tests;
#   2. persons/s for HRNet-W48 384x288 with flip: eager fp32 batch 1 (baseline) against folded
#      channels_last fp32/fp16/bf16 at batch 64 and 256, and torch.compile + CUDA graphs;
#      targets: >= 2,500 persons/s and >= 5x eager fp32;
#   3. fp16/bf16 heatmap error and keypoint error vs fp32 (target: < 0.1 px on average);
#   4. end-to-end fps at 1080p (and 720p) with 6 people and the default detector (target: >= 60 fps);
#   5. ONNX export parity (W48, ONNX Runtime vs PyTorch <= 1e-4); TensorRT parity if torch_tensorrt is there.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
T0=$(date +%s)

say() { echo "=== [$(( $(date +%s) - T0 ))s] $*" | tee -a "$LOG"; }
step() {  # step SECONDS command...: run with a time limit, keep going on failure
    local limit=$1; shift
    say "$*"
    timeout "$limit" "$@" 2>&1 | grep -v -E "TracerWarning|warnings.warn|^\s*$" | tee -a "$LOG"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 0 ] || say "exit $rc (124 = time limit)"
}

say "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee -a "$LOG"
$PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name())" 2>&1 | tee -a "$LOG"

# The project, importable without a network: an editable install with no dependencies.
$PY -m pip install -q --no-deps --no-build-isolation -e . >>"$LOG" 2>&1 || say "pip install -e . failed (see log)"
$PY -c "import torch_tensorrt" >/dev/null 2>&1 && say "torch_tensorrt: present" || say "torch_tensorrt: not installed (TensorRT unmeasured)"

step 120 $PY -m pytest -q -m gpu tests/test_backends.py -p no:cacheprovider
step 90 $PY -m pytest -q tests/test_backends.py -k "onnx or export" -p no:cacheprovider

step 150 $PY benchmarks/pose_throughput.py --device cuda --models w48_384x288 --flip on \
    --precisions fp32,fp16,bf16 --batch-sizes 1,64,256 --compile --seconds 1.5 --rounds 1 --json "$OUT/pose_throughput.json"

step 60 $PY benchmarks/precision_accuracy.py --device cuda --model w48_384x288 --crops 128 --batch-size 64 \
    --person-height 400

step 150 $PY benchmarks/pipeline_fps.py --device cuda --sizes 1920x1080,1280x720 --frames 300 --people 6 \
    --json "$OUT/pipeline_fps.json"

step 90 $PY -m posetrack_cli export --seeded --pose-model w48_384x288 --out /tmp/w48.onnx

say "done"
