#!/usr/bin/env bash
# Launch `curator train` under torchrun.
#
#   pipelines/launch_train.sh CONFIG [section.field=value ...] [--resume]
#
# One node (default): one process per local GPU, or NPROC_PER_NODE CPU processes (default 2) with gloo.
# Several nodes: set NNODES, NODE_RANK, MASTER_ADDR and MASTER_PORT (the usual torchrun/Slurm variables) on each
# node and run the same command everywhere. Environment knobs:
#   NPROC_PER_NODE  processes on this node (default: number of GPUs, else 2)
#   NNODES          nodes in the job (default 1)
#   NODE_RANK       this node's index, 0..NNODES-1 (default 0)
#   MASTER_ADDR     address of node 0 (required when NNODES > 1)
#   MASTER_PORT     rendezvous port on node 0 (default 29500)
#   PYTHON          interpreter with curator and torch installed (default: .venv/bin/python, else python3)
set -euo pipefail

if [[ $# -lt 1 ]]; then
    sed -n '2,16p' "$0" >&2
    exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi

if [[ -z "${NPROC_PER_NODE:-}" ]]; then
    GPUS="$("$PYTHON" -c 'import torch; print(torch.cuda.device_count())')"
    if [[ "$GPUS" -gt 0 ]]; then NPROC_PER_NODE="$GPUS"; else NPROC_PER_NODE=2; fi
fi
NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
MASTER_PORT="${MASTER_PORT:-29500}"

# CPU processes share the cores: one intra-op thread each unless the caller says otherwise.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

if [[ "$NNODES" -eq 1 ]]; then
    RDZV=(--standalone)
else
    if [[ -z "${MASTER_ADDR:-}" ]]; then
        echo "launch_train.sh: NNODES=$NNODES needs MASTER_ADDR (the address of node 0)" >&2
        exit 2
    fi
    RDZV=(--nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" --master_port="$MASTER_PORT")
fi

exec "$PYTHON" -m torch.distributed.run "${RDZV[@]}" --nproc_per_node="$NPROC_PER_NODE" \
    "$HERE/train.py" "$@"
