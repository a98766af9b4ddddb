"""torchrun entry point: runs the same code as `curator train`.

    torchrun --standalone --nproc_per_node=8 pipelines/train.py configs/train/train_124m.yaml [overrides] [--resume]

Prefer pipelines/launch_train.sh, which picks the process count and the multi-node rendezvous for you.
"""

import sys

from curator.cli import main


if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
