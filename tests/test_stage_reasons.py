"""Every registered stage: each reason it declares is reachable, and it emits no reason it does not declare.

The registry (curator.registry.STAGES) is iterated, so a stage added there is checked here too; it needs an entry in
``EXAMPLES``: per stage, the inputs (config + documents, or input lines for ingest) that together reach every
declared reason. Batch stages run with no Spark; ingest and dedup run on the shared session.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from curator.registry import STAGES, stage_class
from curator.stage import BatchStage, StageContext, run_batch_stage
from tests.quality.docs import prose


@dataclass
class Example:
    config: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)  # documents (batch stages, dedup)
    files: dict[str, bytes] = field(default_factory=dict)  # input files by name (ingest)


def langid_examples() -> list[Example]:
    english = "The committee met on Tuesday to discuss the budget for the coming year and the new school."
    german = "Der Ausschuss traf sich am Dienstag, um den Haushalt für das kommende Jahr zu besprechen."
    from tests.langid.test_langid_decisions import TAI_THAM

    return [Example({"languages": ["en"]}, [{"text": english}, {"text": german}]),
            Example({"min_score": 1.0}, [{"text": "zq xv kk"}]),
            Example({}, [{"text": "12345 67890"}, {"text": TAI_THAM}])]


def quality_examples() -> list[Example]:
    from tests.quality.test_heuristics import (
        BASE,
        C4_CASES,
        FINEWEB_CASES,
        GOPHER_QUALITY_CASES,
        paragraphs,
        repetition_cases,
    )

    def one(family, text, lang="en", **config):
        return Example({"filters": [{"family": family, **config}]}, [{"text": text, "lang": lang}])

    examples = [Example({"language": "en"}, [{"text": " \n"}])]
    examples += [one("gopher_quality", text) for text in GOPHER_QUALITY_CASES.values()]
    examples.append(one("gopher_quality", BASE, "de", stop_words={"de": ["der", "die", "und"]}))
    examples += [Example({"filters": [config], "language": "en"}, [{"text": text}]) for config, text in repetition_cases()]
    examples += [one("c4", text) for text in C4_CASES.values()]
    examples.append(one("c4", "Menu\nHome\nContact us", min_sentences=None))  # every line dropped
    examples += [one("fineweb", text) for text in FINEWEB_CASES.values()]
    examples.append(Example({"filters": [], "classifier": {"min_score": 1.0}, "language": "en"},
                            [{"text": "\n".join(paragraphs(2))}]))
    examples.append(Example({"filters": [], "score": {"min_score": 1.0}, "language": "en"},
                            [{"text": "\n".join(paragraphs(2))}]))
    return examples


def pii_examples() -> list[Example]:
    return [Example({"max_entities": 0, "entities": ["EMAIL_ADDRESS"]},
                    [{"text": "Write to jane.doe@example.com today."}, {"text": "Nothing personal here."}])]


def dedup_examples() -> list[Example]:
    rng = random.Random(3)
    base = [f"w{rng.randrange(5000)}" for _ in range(200)]
    near = list(base)
    near[100] = "changed"
    texts = {"a": " ".join(base), "b": " ".join(base), "c": " ".join(near), "d": prose(seed=5)}
    return [Example({}, [{"id": k, "text": v} for k, v in texts.items()])]


def ingest_examples() -> list[Example]:
    import json

    import zstandard

    from tests.ingest.test_ingest import GOOD, READER_CASES

    lines = [json.dumps({"id": f"d{i}", "text": f"document number {i} " * 20}) for i in range(2000)]
    packed = zstandard.ZstdCompressor().compress(("\n".join(lines) + "\n").encode())
    good_twice = [GOOD, GOOD.replace(b"good", b"g2"), GOOD]  # the third repeats the first id
    from tests.io.warc_fixture import article_html, crawl_records, response, write_warc

    def warc_bytes(records) -> bytes:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "crawl.warc.gz"
            write_warc(path, records)
            return path.read_bytes()

    big_page = [response("https://harbour.example.org/day", article_html().encode())]
    return [Example(files={"in.jsonl": b"\n".join([*READER_CASES.values(), *good_twice]) + b"\n",
                           "cut.jsonl.zst": packed[: len(packed) // 2],
                           "damaged.parquet": b"PAR1" + b"\x00" * 100}),  # starts like Parquet: corrupt_file
            Example(files={"crawl.warc.gz": warc_bytes(crawl_records())}),
            Example({"max_html_bytes": 64}, files={"big.warc.gz": warc_bytes(big_page)})]


def url_filter_examples() -> list[Example]:
    return [Example({"domains": ["spam.example"], "on_missing_url": "reject"},
                    [{"text": "a page", "url": "https://www.spam.example/offer"},
                     {"text": "a page", "url": "https://news.example.org/story"}, {"text": "no url"}])]


def decontaminate_examples() -> list[Example]:
    leak = ("Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse, "
            "and nothing particular to interest me on shore, I thought I would sail about a little.")
    config = {"benchmarks": [{"name": "demo", "path": "builtin:demo_reading", "fields": ["passage"]}]}
    return [Example(config, [{"text": leak}, {"text": prose(seed=2)}])]


def line_dedup_examples() -> list[Example]:
    footer = "Subscribe to our newsletter for weekly updates from the editors"
    return [Example({}, [{"id": "a", "text": prose(seed=1) + "\n" + footer},
                         {"id": "b", "text": "Short note.\n" + footer}])]


EXAMPLES = {
    "ingest": ingest_examples, "langid": langid_examples, "quality": quality_examples, "dedup": dedup_examples,
    "pii": pii_examples, "url_filter": url_filter_examples, "decontaminate": decontaminate_examples,
    "line_dedup": line_dedup_examples,
}
SPARK_STAGES = {"ingest", "dedup", "line_dedup"}  # their decisions are made in Spark, not per batch


def emitted_reasons(name: str, example: Example, request, tmp_path: Path) -> list[str | None]:
    from curator.document import DOCUMENT_SCHEMA

    cls = stage_class(name)
    stage = cls(cls.Config(**example.config))
    rows = [{"id": f"doc{i}", "source": "test", **row} for i, row in enumerate(example.rows)]
    if isinstance(stage, BatchStage):
        kept, rejected = run_batch_stage(stage, rows)
        return [r["reason"] for r in kept + rejected]
    spark = request.getfixturevalue("spark")
    ctx = StageContext(spark=spark, run_dir=tmp_path, scratch_dir=tmp_path / "scratch", stage_name=name)
    if example.files:
        from curator.specs import InputSpec

        for file_name, data in example.files.items():
            (tmp_path / "input").mkdir(parents=True, exist_ok=True)
            (tmp_path / "input" / file_name).write_bytes(data)
        ctx.input_spec = InputSpec(paths=[str(tmp_path / "input")])
        frame = None
    else:
        full = [{f.name: r.get(f.name) for f in DOCUMENT_SCHEMA} for r in rows]
        from curator.document import spark_schema

        frame = spark.createDataFrame(full, spark_schema(DOCUMENT_SCHEMA))
    return [r["reason"] for r in stage.annotate(frame, ctx).frame.select("reason").collect()]


def stage_params():
    for name in STAGES:
        # Spark stages: a session plus several jobs (minutes on a busy 2-core machine); their reasons are also
        # covered one by one in tests/ingest and tests/dedup.
        marks = [pytest.mark.spark, pytest.mark.slow] if name in SPARK_STAGES else []
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.parametrize("name", list(stage_params()))
def test_declared_reasons_are_reachable_and_complete(name, request, tmp_path):
    cls = stage_class(name)
    declared = cls.reasons
    assert isinstance(declared, tuple) and len(set(declared)) == len(declared), "reasons: a tuple without repeats"
    if not declared:
        assert cls.is_sink, f"stage {name!r} declares no reasons but is not a sink: declare `reasons`"
        return
    if cls.is_sink:  # a sink's rejections are recorded in its artifact (tokenize: the manifest), tested there
        assert all(r.replace("_", "").isalnum() and r == r.lower() for r in declared), "reasons are snake_case"
        return
    if name not in EXAMPLES:
        pytest.fail(f"stage {name!r} declares reasons {declared} but tests/test_stage_reasons.py EXAMPLES has no "
                    f"inputs for it: add a function returning Examples that reach each reason")
    emitted: set[str] = set()
    for i, example in enumerate(EXAMPLES[name]()):
        emitted.update(r for r in emitted_reasons(name, example, request, tmp_path / str(i)) if r is not None)
    assert not emitted - set(declared), f"{name} emitted undeclared reasons {sorted(emitted - set(declared))}"
    assert not set(declared) - emitted, f"{name}: no example reaches {sorted(set(declared) - emitted)}"
    assert all(r.replace("_", "").isalnum() and r == r.lower() for r in declared), "reasons are snake_case"
