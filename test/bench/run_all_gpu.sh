#!/usr/bin/env bash
# The three benchmarks with GPU-sized settings, for one CUDA GPU (e.g. an H100), needing nothing from
# the internet: models are random-weight Llamas built from configs (bench_model.py), the tokenizer is
# tunelab_agent.tiny_model's. Prints the three ratios at the end.
#
#   train_overhead:   1.1B Llama (hidden 2048, 22 layers), bf16, LoRA r=16 on q_proj,v_proj, batch 8 x 1024
#                     tokens: the first row of ../shared/notes/gpu-baseline.md. logging_steps 1 (an event
#                     and a host sync every step) is the worst case; LOGGING_STEPS=10 gives a typical one.
#   packing_bench:    the same 1.1B model, chats up to 1024 tokens, 8 per padded batch.
#   generation_bench: a 2048 x 22 Llama (tiny_model's shape, fp32 as that bench saves it), 3 adapters.
#
# Takes about 5 minutes on an H100 after the model builds. Override any bench's flags with TRAIN_ARGS,
# PACKING_ARGS or GENERATION_ARGS, and the interpreter with PYTHON.
set -u
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-python-agent/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
export PYTHON
if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "run_all_gpu.sh: $PYTHON sees no CUDA GPU; these settings are GPU-sized (use run_all.sh on a CPU)" >&2
  exit 1
fi
# The agent validates run configs with jsonschema, which a bare GPU image may lack (and which cannot be
# fetched offline). The benches write their own known-good config, so a stand-in that skips validation
# is enough for them; it is used only when the real package is missing, and says so.
if ! "$PYTHON" -c "import jsonschema" 2>/dev/null; then
  echo "run_all_gpu.sh: jsonschema is not installed; run config validation is skipped (test/bench/gpu_shim)"
  export PYTHONPATH="$PWD/test/bench/gpu_shim${PYTHONPATH:+:$PYTHONPATH}"
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true

export TRAIN_ARGS=${TRAIN_ARGS:-"--size 1b --seq 1024 --batch 8 --steps 30 --warmup 5 --repeats 2 --targets q_proj,v_proj --logging-steps ${LOGGING_STEPS:-1}"}
export PACKING_ARGS=${PACKING_ARGS:-"--size 1b --samples 512 --max-length 1024 --batch 8"}
export GENERATION_ARGS=${GENERATION_ARGS:-"--hidden 2048 --layers 22 --prompts 4 --new-tokens 48 --repeats 2"}
exec bash test/bench/run_all.sh
