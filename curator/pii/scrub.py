"""Find personal data with presidio's analyzer and replace it with typed placeholders, a batch of texts at a time.

:class:`PiiScrubber` is the per-document logic of the pii stage, usable with no Spark: build one per worker (it
holds the analyzer), then call :meth:`PiiScrubber.scrub_batch`. A text in which nothing is found is returned as the
same string object, so text without personal data comes out byte for byte unchanged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from curator.pii.engine import DEFAULT_PHONE_REGIONS, build_analyzer
from curator.pii.prescreen import Prescreen, can_prescreen


@dataclass(frozen=True)
class ScrubResult:
    """A scrubbed text and how many entities of each type were replaced in it."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def placeholder_for(entity: str, placeholders: Mapping[str, str] | None = None) -> str:
    """The replacement for ``entity``: the configured one, else ``<ENTITY>``."""
    return (placeholders or {}).get(entity, f"<{entity}>")


class PiiScrubber:
    """presidio analyzer + anonymizer over pre-screened windows.

    Args:
        entities: presidio entity names to find and replace.
        language: recognizer language key (and blank tokenizer language); see :func:`build_analyzer`.
        score_threshold: results scoring below this are ignored.
        placeholders: entity -> replacement text; unlisted entities get ``<ENTITY>``.
        phone_regions: regions whose national phone formats are accepted.
        ner_model: installed spaCy model for NER entities (PERSON, LOCATION, ...).
        prescreen: analyse only windows around candidate spans (see :mod:`curator.pii.prescreen`); automatically
            off when an entity has no candidate pattern.
        context_chars: characters kept on each side of a candidate in a window.
        nlp_batch_size: texts per spaCy ``pipe`` call.
    """

    def __init__(
        self,
        entities: Sequence[str],
        *,
        language: str = "en",
        score_threshold: float = 0.4,
        placeholders: Mapping[str, str] | None = None,
        phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS,
        ner_model: str | None = None,
        prescreen: bool = True,
        context_chars: int = 100,
        nlp_batch_size: int = 256,
    ):
        self.entities = list(dict.fromkeys(entities))
        self.language = language
        self.score_threshold = score_threshold
        self.nlp_batch_size = nlp_batch_size
        self.analyzer = build_analyzer(
            self.entities, language=language, phone_regions=phone_regions, ner_model=ner_model
        )
        from presidio_anonymizer import AnonymizerEngine
        from presidio_anonymizer.entities import OperatorConfig

        self.anonymizer = AnonymizerEngine()
        self.operators = {
            e: OperatorConfig("replace", {"new_value": placeholder_for(e, placeholders)}) for e in self.entities
        }
        self.prescreen = Prescreen(self.entities, context_chars) if prescreen and can_prescreen(self.entities) else None

    def segments(self, text: str) -> list[tuple[int, int]]:
        """The ``(start, end)`` spans of ``text`` the analyzer will see."""
        if not text:
            return []
        return self.prescreen.windows(text) if self.prescreen is not None else [(0, len(text))]

    def analyze_batch(self, texts: Sequence[str | None]):
        """presidio ``RecognizerResult`` lists, one per text, with offsets into the whole text."""
        located = [(i, start, text[start:end]) for i, text in enumerate(texts) for start, end in self.segments(text)]
        results: list[list] = [[] for _ in texts]
        if not located:
            return results
        # One spaCy pipe over every segment of the batch, then the recognizers on each (BatchAnalyzerEngine's way).
        artifacts = self.analyzer.nlp_engine.process_batch(
            [segment for _, _, segment in located], self.language, batch_size=self.nlp_batch_size
        )
        for (i, offset, segment), (_, nlp_artifacts) in zip(located, artifacts):
            found = self.analyzer.analyze(
                segment, self.language, entities=self.entities, score_threshold=self.score_threshold,
                nlp_artifacts=nlp_artifacts,
            )
            for result in found:
                result.start += offset
                result.end += offset
            results[i].extend(found)
        return results

    def scrub_batch(self, texts: Sequence[str | None]) -> list[ScrubResult]:
        """Replace every entity found in each text by its placeholder (None texts pass through)."""
        out = []
        for text, found in zip(texts, self.analyze_batch(texts)):
            if not found:
                out.append(ScrubResult(text, {}))
                continue
            # The anonymizer resolves overlapping results (the higher score, then the longer span, wins).
            anonymized = self.anonymizer.anonymize(text=text, analyzer_results=found, operators=self.operators)
            counts = Counter(item.entity_type for item in anonymized.items)
            out.append(ScrubResult(anonymized.text, dict(counts)))
        return out

    def scrub(self, text: str) -> ScrubResult:
        return self.scrub_batch([text])[0]
