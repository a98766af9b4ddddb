"""Tiny synthetic documents for the rule tests (generated, so no third-party text is committed)."""

from __future__ import annotations

import random


_VOCAB = (
    "river mountain garden window letter teacher village market winter summer morning evening story music "
    "painter farmer doctor engine bridge harbor forest meadow castle kitchen library student friend journey "
    "lantern candle silver golden quiet gentle bright narrow ancient modern careful patient curious honest "
    "walked carried opened watched painted studied visited followed crossed gathered built wrote found kept "
    "slowly quickly often rarely always early later together inside outside"
).split()
_GLUE = ("the", "of", "and", "to", "with", "that", "a", "in", "for", "on")


def sentence(rng: random.Random, words: int = 10) -> str:
    out = []
    for i in range(words):
        out.append(rng.choice(_GLUE) if i % 3 == 1 else rng.choice(_VOCAB))
    return " ".join(out).capitalize() + "."


def prose(lines: int = 12, sentences_per_line: int = 2, seed: int = 0) -> str:
    """Clean, varied English-like prose: passes every rule family with default thresholds."""
    rng = random.Random(seed)
    return "\n".join(" ".join(sentence(rng) for _ in range(sentences_per_line)) for _ in range(lines))
