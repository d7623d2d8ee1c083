#!/usr/bin/env bash
# The CUDA backend's check on a machine with an NVIDIA GPU, in one run: parity against transformers + PEFT on the
# same GPU, then benchmarks against transformers generate, a summary table last (tests/gpu/check.py says what).
# Expects the binaries of tests/gpu/prepare.sh (build/cuda/{bin,bench,libs}); builds them itself if they are
# missing and nvcc and the -dev packages are there. Writes check.log and results.json under OUT.
# Usage: tests/gpu/run.sh [STAGE...]   (stages: tiny kernels real_shape train_tiny train_real_shape ceilings bench
# profile train_bench tina_step; default all). Where one command may run 600 s at most, run it twice: the parity
# stages (tiny kernels real_shape train_tiny train_real_shape), then the benchmarks (ceilings bench profile
# train_bench tina_step); check.py prints each stage's seconds.
set -uo pipefail
cd "$(dirname "$0")/../.."
export OUT=${OUT:-/tmp/tina-gpu-out} WORK=${WORK:-/tmp/tina-gpu-work}
mkdir -p "$OUT" "$WORK"
cublas=$(python3 -c 'import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], "lib"))' 2>/dev/null)
export LD_LIBRARY_PATH="$PWD/build/cuda/libs:${CUDA_HOME:-/usr/local/cuda}/lib64${cublas:+:$cublas}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv
[ -x build/cuda/bin/tina-sample ] && [ -x build/cuda/tests/test_kv_cache ] ||
    make -j"$(nproc)" CUDA=1 BUILD=build/cuda BIN=build/cuda/bin LIBTINA=build/cuda/libtina.a all \
        build/cuda/bench/model_logits build/cuda/tests/test_backend_sample build/cuda/tests/test_backend_attention \
        build/cuda/tests/test_backend_lora build/cuda/tests/test_backend_ops build/cuda/tests/test_kv_cache ||
    exit 1
if ldd build/cuda/bin/tina-sample build/cuda/bench/model_logits | grep 'not found'; then
    echo "run.sh: shared libraries missing (run tests/gpu/prepare.sh here and carry build/cuda/libs)" >&2
    exit 1
fi
build/cuda/bin/tina-sample --version
PYTHONUNBUFFERED=1 python3 tests/gpu/check.py "$@" 2>&1 | tee "$OUT/check.log"
