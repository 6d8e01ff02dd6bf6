#!/usr/bin/env bash
# The checks for a machine with a CUDA GPU (never CI): the CUDA tests, requests through an
# engine serving the GPU, and the studio's batching on it, without and with CUDA graphs. From
# the repository root:
#     bash bench/gpu_checks.sh            # PYTHON=python3 RUNS=5 bash bench/gpu_checks.sh
# GRAPHS="0" or GRAPHS="1" runs the benchmarks for one of the two settings only (each takes a
# few minutes: two calls fit a per-command limit that one may not); TESTS=0 skips the tests.
set -uo pipefail
python="${PYTHON:-.venv/bin/python}"
"$python" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU here')" || exit 1
status=0
if [[ "${TESTS:-1}" != 0 ]]; then
    "$python" -m pytest -q -rs tests/models/test_devices.py tests/models/net/test_cuda_graphs.py || status=1
fi
# studio loads that decode: a fill, 4 bars of drums, and 2-bar harmonize with 4 candidates (a
# chorale's one decoded row, every third request; with 1 candidate nothing is decoded, and an
# 8-bar chorale outgrows a shared cache, so it is decoded alone)
studio=(--quick --device cuda --clients 4,16 --no-relay)
for graphs in ${GRAPHS:-0 1}; do  # decoding passes eagerly, then replayed as CUDA graphs
    echo "DAWBRIDGE_CUDA_GRAPHS=$graphs"
    DAWBRIDGE_CUDA_GRAPHS=$graphs "$python" bench/bench_speed.py --device cuda --runs "${RUNS:-10}" || status=1
    DAWBRIDGE_CUDA_GRAPHS=$graphs "$python" bench/bench_studio.py "${studio[@]}" --op fill --bars 4 || status=1
    DAWBRIDGE_CUDA_GRAPHS=$graphs "$python" bench/bench_studio.py "${studio[@]}" --op drums --bars 4 || status=1
    DAWBRIDGE_CUDA_GRAPHS=$graphs "$python" bench/bench_studio.py "${studio[@]}" --bars 2 --candidates 4 || status=1
done
exit $status
