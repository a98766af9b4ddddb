"""pii: replace personal data with typed placeholders (``<EMAIL_ADDRESS>``), using presidio with no network access.

Per document the stage rewrites ``text`` and adds one ``pii_<entity>`` count column per configured entity plus
``pii_total``; the runner totals those columns into ``stats.json`` (``totals``). Documents with more than
``max_entities`` entities can be rejected as ``pii_too_many_entities`` (off by default); rejected rows are scrubbed
too, so personal data never reaches any output.

Offline by construction: a blank spaCy pipeline instead of a downloaded model, ``tldextract`` on its bundled
suffix-list snapshot (see :mod:`curator.pii.engine`). Fast by construction: a regex pre-screen skips documents
that cannot hold any configured entity and narrows the others to windows around candidates
(:mod:`curator.pii.prescreen`), one analyzer per Python worker, one spaCy ``pipe`` per Arrow batch.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

import pyarrow as pa
from pydantic import Field, field_validator, model_validator

from curator.document import TEXT
from curator.pii.engine import DEFAULT_ENTITIES, DEFAULT_PHONE_REGIONS, NER_ENTITIES
from curator.pii.recognizers import DEFAULT_KEEP_IP_NETWORKS
from curator.stage import BatchStage, Decision, PreparedStage, StageConfig, StageContext, finish_batch


if TYPE_CHECKING:
    from curator.pii.scrub import PiiScrubber


PII_REASONS = ("pii_too_many_entities",)
TOTAL_COLUMN = "pii_total"
_ENTITY_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def count_column(entity: str) -> str:
    """Name of the per-document count column of ``entity`` (``EMAIL_ADDRESS`` -> ``pii_email_address``)."""
    return f"pii_{entity.lower()}"


class PiiConfig(StageConfig):
    entities: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ENTITIES),
        description="presidio entity names to replace; NER entities (PERSON, LOCATION, ...) need ner_model",
    )
    score_threshold: float = Field(0.4, ge=0.0, le=1.0, description="ignore results scoring below this")
    placeholders: dict[str, str] = Field(
        default_factory=dict, description="entity -> replacement text; default <ENTITY>, e.g. <EMAIL_ADDRESS>"
    )
    language: str = Field("en", description="recognizer language and blank spaCy tokenizer language")
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        description="ISO 3166 regions whose national phone formats are accepted (+<country> numbers always are)",
    )
    ner_model: str | None = Field(
        None, description="installed spaCy model (package or folder) for NER entities; never downloaded"
    )
    max_entities: int | None = Field(
        None, ge=0, description="reject documents with more entities than this (pii_too_many_entities); null = off"
    )
    keep_ip_networks: list[str] = Field(
        default_factory=lambda: list(DEFAULT_KEEP_IP_NETWORKS),
        description="CIDR networks whose addresses are not replaced; default loopback, documentation and reserved "
        "ranges; [] replaces every address",
    )
    prescreen: bool = Field(True, description="analyse only windows around regex candidates (same results, faster)")
    context_chars: int = Field(60, ge=20, description="context characters kept around each candidate")

    @field_validator("entities")
    @classmethod
    def _check_entities(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one entity")
        bad = [e for e in value if not _ENTITY_NAME.match(e)]
        if bad:
            raise ValueError(f"entity names are presidio's upper-case names (EMAIL_ADDRESS, ...); got {bad}")
        return list(dict.fromkeys(value))

    @field_validator("phone_regions")
    @classmethod
    def _upper_regions(cls, value: list[str]) -> list[str]:
        import phonenumbers

        regions = [r.strip().upper() for r in value]
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown ISO 3166 regions for phone numbers: {unknown}")
        return regions

    @field_validator("keep_ip_networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as e:
                raise ValueError(f"not an IP network in CIDR notation: {network!r} ({e})") from None
        return value

    @model_validator(mode="after")
    def _check_consistency(self):
        unknown_placeholders = sorted(set(self.placeholders) - set(self.entities))
        if unknown_placeholders:
            raise ValueError(f"placeholders for entities that are not configured: {unknown_placeholders}")
        ner = [e for e in self.entities if e in NER_ENTITIES]
        if ner and not self.ner_model:
            raise ValueError(
                f"entities {ner} are found by a spaCy NER model: set ner_model (an installed model package such as "
                f"en_core_web_md, or a model folder)"
            )
        return self


class PiiStage(BatchStage):
    """Scrubs personal data with presidio; counts per entity; optional ``pii_too_many_entities`` rejection."""

    name = "pii"
    Config = PiiConfig
    reasons: ClassVar[tuple[str, ...]] = PII_REASONS

    def setup(self) -> None:
        from curator.pii.engine import check_analyzer_setup

        c = self.config
        check_analyzer_setup(c.entities, language=c.language, ner_model=c.ner_model, phone_regions=c.phone_regions,
                             keep_ip_networks=c.keep_ip_networks)
        self.scrubber = self.build_scrubber()  # builds presidio when a batch first needs it

    def build_scrubber(self) -> PiiScrubber:
        from curator.pii.scrub import PiiScrubber

        c = self.config
        return PiiScrubber(
            c.entities, language=c.language, score_threshold=c.score_threshold, placeholders=c.placeholders,
            phone_regions=c.phone_regions, ner_model=c.ner_model, prescreen=c.prescreen,
            context_chars=c.context_chars, keep_ip_networks=c.keep_ip_networks,
        )

    def count_fields(self) -> list[pa.Field]:
        return [pa.field(count_column(e), pa.int32()) for e in self.config.entities] + [
            pa.field(TOTAL_COLUMN, pa.int32())
        ]

    def annotation_fields(self) -> list[pa.Field]:
        return self.count_fields()

    def summed_columns(self) -> list[str]:
        return [f.name for f in self.count_fields()]

    def prepare(self, ctx: StageContext) -> PreparedStage:
        # A missing spaCy model or an unknown entity fails here, on the driver, with its own message, not as a task
        # failure inside Spark (setup() checks; presidio itself is built only where the check needs it).
        self._ensure_setup()
        return super().prepare(ctx)

    def decide(self, total: int) -> Decision:
        limit = self.config.max_entities
        if limit is not None and total > limit:
            return "pii_too_many_entities", f"{total} entities > max_entities {limit}"
        return None

    def process_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        texts = batch.column(TEXT).to_pylist()
        results = self.scrubber.scrub_batch(texts)
        entities = self.config.entities
        annotations: dict[str, list] = {TEXT: [r.text for r in results]}
        for entity in entities:
            annotations[count_column(entity)] = [r.counts.get(entity, 0) for r in results]
        annotations[TOTAL_COLUMN] = [r.total for r in results]

        reasons, details = self.decide_all([r.total for r in results])
        fields = [pa.field(TEXT, pa.string())] + self.count_fields()
        return finish_batch(batch, annotations, reasons, details, fields)
