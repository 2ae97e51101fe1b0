#!/usr/bin/env bash
# Runs the benchmarks one after the other and ends with their ratios (npm run bench).
#
# Each bench picks the GPU when there is one; the settings here are CPU-sized, a couple of minutes
# each. Extra flags for a bench go in TRAIN_ARGS, PACKING_ARGS, GENERATION_ARGS and INSPECT_ARGS (run_all_gpu.sh
# uses them); PYTHON picks the interpreter (default: the agent's virtual environment, else python3).
# A bench that fails is reported and the others still run; the exit status says whether all passed.
set -u
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python-agent/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
# The benches import tunelab_agent from this checkout, installed or not.
export PYTHONPATH="$PWD/python-agent${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()

bench() {
  local name=$1; shift
  echo "== $name $*"
  local began=$SECONDS
  "$PYTHON" "test/bench/$name.py" "$@" 2>&1 | tee "$logs/$name.log"
  local status=${PIPESTATUS[0]}
  echo "== $name: exit $status after $((SECONDS - began)) s"
  [ "$status" -eq 0 ] || failed+=("$name")
}

# Word splitting of the *_ARGS variables is wanted: each holds a list of flags.
# shellcheck disable=SC2086
bench train_overhead ${TRAIN_ARGS:-}
# shellcheck disable=SC2086
bench packing_bench ${PACKING_ARGS:-}
# shellcheck disable=SC2086
bench generation_bench ${GENERATION_ARGS:-}
bench eventlog_append
bench preference_memory
bench warm_start_bench
# shellcheck disable=SC2086
bench inspect_bench ${INSPECT_ARGS:-}

echo
echo "== ratios"
grep -h "ratio" "$logs"/train_overhead.log "$logs"/packing_bench.log "$logs"/generation_bench.log
grep -h " / bare: \| / without: " "$logs"/eventlog_append.log
grep -h "ratio" "$logs"/preference_memory.log
grep -h "ratio" "$logs"/inspect_bench.log
grep -h "ratio" "$logs"/warm_start_bench.log
if [ ${#failed[@]} -gt 0 ]; then
  echo "== failed: ${failed[*]}"
  exit 1
fi
