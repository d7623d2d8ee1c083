#!/usr/bin/env bash
# Here, before a GPU check: builds the CUDA backend into build/cuda and puts beside it the shared libraries the GPU
# machine lacks (cJSON, utf8proc), so that tests/gpu/run.sh runs the binaries as they are. Then carry build/cuda/bin,
# build/cuda/bench, build/cuda/tests and build/cuda/libs to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
make -j2 CUDA=1 BUILD=build/cuda BIN=build/cuda/bin LIBTINA=build/cuda/libtina.a all build/cuda/bench/model_logits \
    build/cuda/tests/test_backend_sample build/cuda/tests/test_backend_attention build/cuda/tests/test_backend_lora \
    build/cuda/tests/test_backend_ops build/cuda/tests/test_kv_cache
mkdir -p build/cuda/libs
for lib in libcjson.so.1 libutf8proc.so.2; do
    cp -L "$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')" build/cuda/libs/
done
du -sh build/cuda/bin build/cuda/bench build/cuda/tests build/cuda/libs
# the training half's cuBLAS call layouts against autograd, on this CPU (PYTHON with torch and numpy)
if "${PYTHON:-python3}" -c 'import torch, numpy' 2> /dev/null; then
    "${PYTHON:-python3}" tests/gpu/cublas_replay.py
else
    echo "prepare.sh: no torch for ${PYTHON:-python3}: tests/gpu/cublas_replay.py not run" >&2
fi
