"""Explicit map from the stage names used in pipeline specs to their classes.

Entries are import paths so that validating a spec never imports heavy libraries; stage modules themselves import
fastText, presidio, sentencepiece or torch only inside methods.
"""

from __future__ import annotations

import importlib

from curator.errors import SpecError


STAGES: dict[str, str] = {
    "ingest": "curator.ingest.stage:IngestStage",
    "url_filter": "curator.urlfilter.stage:UrlFilterStage",
    "langid": "curator.langid.stage:LangIdStage",
    "quality": "curator.quality.stage:QualityStage",
    "dedup": "curator.dedup.stage:DedupStage",
    "line_dedup": "curator.linededup.stage:LineDedupStage",
    "decontaminate": "curator.decontam.stage:DecontaminateStage",
    "pii": "curator.pii.stage:PiiStage",
    "train_tokenizer": "curator.tokenization.stage:TrainTokenizerStage",
    "tokenize": "curator.tokenization.stage:TokenizeStage",
}


def stage_class(name: str):
    try:
        target = STAGES[name]
    except KeyError:
        raise SpecError(f"unknown stage {name!r}; known stages: {', '.join(sorted(STAGES))}") from None
    module_name, class_name = target.split(":")
    return getattr(importlib.import_module(module_name), class_name)
