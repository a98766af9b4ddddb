"""Find personal data with presidio's analyzer and replace it with typed placeholders, a batch of texts at a time.

:class:`PiiScrubber` is the per-document logic of the pii stage, usable with no Spark: build one per worker (it
holds the analyzer), then call :meth:`PiiScrubber.scrub_batch`. A text in which nothing is found is returned as the
same string object, so text without personal data comes out byte for byte unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from curator.pii.engine import DEFAULT_PHONE_REGIONS, NER_CHUNK_CHARS, NER_ENTITIES, build_analyzer
from curator.pii.prescreen import Prescreen, Window, can_prescreen
from curator.pii.recognizers import DEFAULT_KEEP_IP_NETWORKS


@dataclass(frozen=True)
class ScrubResult:
    """A scrubbed text, how many entities of each type were replaced in it, and where they were in the input."""

    text: str
    counts: dict[str, int] = field(default_factory=dict)
    spans: tuple[tuple[int, int, str], ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def resolve_overlaps(results: Sequence) -> list:
    """Keep a non-overlapping subset of analyzer results: pattern and checksum entities before NER entities, secrets
    first among them, then the longer span, then the higher score, then the earlier.

    presidio often reports one stretch of text twice (a phone number inside an e-mail address or an IBAN, an IPv4
    inside an IPv6 address, NER fragments "2001:db8" and "8a2e" inside an IPv6 address); each stretch must be
    replaced once, by the entity that explains it best: a validated identifier over a statistical guess, a whole
    match over its fragments.

    >>> from types import SimpleNamespace as R
    >>> found = [R(start=0, end=20, score=0.6, entity_type="IP_ADDRESS"), R(start=0, end=8, score=0.85,
    ...     entity_type="PERSON"), R(start=9, end=20, score=0.85, entity_type="LOCATION"),
    ...     R(start=25, end=30, score=0.4, entity_type="PHONE_NUMBER")]
    >>> [(r.start, r.end, r.entity_type) for r in resolve_overlaps(found)]
    [(0, 20, 'IP_ADDRESS'), (25, 30, 'PHONE_NUMBER')]
    """
    kept: list = []
    # A secret wins over the e-mail-shaped "token@host" it sits in (a URL's user part), whatever their lengths.
    def order(r):
        return (getattr(r, "entity_type", None) in NER_ENTITIES, getattr(r, "entity_type", None) != "SECRET",
                r.start - r.end, -r.score, r.start)

    for result in sorted(results, key=order):
        if all(result.end <= k.start or k.end <= result.start for k in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)


def ner_chunks(text: str, size: int = NER_CHUNK_CHARS) -> list[tuple[int, int]]:
    r"""Consecutive spans of at most ``size`` characters covering ``text``, cut after a newline where possible (else
    after a space), so a NER model's memory stays bounded and entities are rarely cut.

    >>> ner_chunks("ab\ncd ef gh", size=5)
    [(0, 3), (3, 6), (6, 11)]
    """
    chunks, start = [], 0
    while len(text) - start > size:
        cut = text.rfind("\n", start + size // 2, start + size)
        if cut < 0:
            cut = text.rfind(" ", start + size // 2, start + size)
        end = cut + 1 if cut >= 0 else start + size
        chunks.append((start, end))
        start = end
    chunks.append((start, len(text)))
    return chunks


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
        keep_ip_networks: CIDR networks whose addresses stay in the text (e.g. ``127.0.0.0/8``, ``192.0.2.0/24``).
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
        context_chars: int = 60,
        nlp_batch_size: int = 256,
        keep_ip_networks: Sequence[str] = DEFAULT_KEEP_IP_NETWORKS,
    ):
        self.entities = list(dict.fromkeys(entities))
        self.language = language
        self.score_threshold = score_threshold
        self.nlp_batch_size = nlp_batch_size
        self.ner_model = ner_model if any(e in NER_ENTITIES for e in self.entities) else None
        self._analyzer_options = dict(language=language, phone_regions=phone_regions, ner_model=ner_model,
                                      keep_ip_networks=keep_ip_networks)
        self._placeholders = dict(placeholders or {})
        self._engines = None
        use_prescreen = prescreen and can_prescreen(self.entities)
        self.prescreen = Prescreen(self.entities, context_chars) if use_prescreen else None
        self._all_entities = frozenset(self.entities)
        self._entity_lists: dict[frozenset[str], list[str]] = {}

    def _load_engines(self):
        # presidio is built on first use: a pre-screened batch with no candidate never needs it, and building it
        # costs seconds per Spark worker (import and recognizers).
        if self._engines is None:
            analyzer = build_analyzer(self.entities, **self._analyzer_options)  # first: it imports presidio
            from presidio_anonymizer import AnonymizerEngine
            from presidio_anonymizer.entities import OperatorConfig

            operators = {e: OperatorConfig("replace", {"new_value": placeholder_for(e, self._placeholders)})
                         for e in self.entities}
            self._engines = (analyzer, AnonymizerEngine(), operators)
        return self._engines

    @property
    def analyzer(self):
        """presidio's ``AnalyzerEngine`` (built on first use)."""
        return self._load_engines()[0]

    @property
    def anonymizer(self):
        return self._load_engines()[1]

    @property
    def operators(self):
        return self._load_engines()[2]

    def windows(self, text: str) -> list[Window]:
        """The stretches of ``text`` the analyzer will see, each with the entities whose recognizers run there."""
        if not text:
            return []
        if self.prescreen is not None:
            return self.prescreen.windows(text)
        if self.ner_model is not None:
            return [Window(start, end, self._all_entities) for start, end in ner_chunks(text)]
        return [Window(0, len(text), self._all_entities)]

    def segments(self, text: str) -> list[tuple[int, int]]:
        """The ``(start, end)`` spans of ``text`` the analyzer will see."""
        return [(w.start, w.end) for w in self.windows(text)]

    def analyze_batch(self, texts: Sequence[str | None]):
        """presidio ``RecognizerResult`` lists, one per text, with offsets into the whole text."""
        located = [(i, w, text[w.start:w.end]) for i, text in enumerate(texts) for w in self.windows(text)]
        results: list[list] = [[] for _ in texts]
        if not located:
            return results
        engine = self.analyzer.nlp_engine
        if engine.model is None:
            # Blank pipeline: tokenize a segment only if presidio's context enhancer asks (it found something).
            artifacts = ((segment, engine.lazy_artifacts(segment, self.language)) for _, _, segment in located)
        else:
            # NER model: one spaCy pipe over every segment of the batch (BatchAnalyzerEngine's way).
            artifacts = engine.process_batch(
                [segment for _, _, segment in located], self.language, batch_size=self.nlp_batch_size
            )
        for (i, window, segment), (_, nlp_artifacts) in zip(located, artifacts):
            # Only the recognizers of entities with a candidate in the window: a window opened for an "@" runs the
            # e-mail recognizer alone, not the phone matcher, pyap and a dozen secret patterns as well.
            entities = self._entity_lists.get(window.entities)
            if entities is None:
                entities = self._entity_lists[window.entities] = [e for e in self.entities if e in window.entities]
            found = self.analyzer.analyze(
                segment, self.language, entities=entities, score_threshold=self.score_threshold,
                nlp_artifacts=nlp_artifacts,
            )
            offset = window.start
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
            # Overlaps are resolved first, so the anonymizer only replaces, and every replaced entity is counted
            # (its default would merge neighbouring same-type entities and keep partial overlaps).
            kept = resolve_overlaps(found)
            anonymized = self.anonymizer.anonymize(
                text=text, analyzer_results=kept, operators=self.operators, merge_entities_with_spaces=False
            )
            counts = Counter(r.entity_type for r in kept)
            spans = tuple((r.start, r.end, r.entity_type) for r in kept)
            out.append(ScrubResult(anonymized.text, dict(counts), spans))
        return out

    def scrub(self, text: str) -> ScrubResult:
        return self.scrub_batch([text])[0]
