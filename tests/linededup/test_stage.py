"""The line_dedup stage on Spark: a generated corpus with planted repeated lines gives exact expected outputs; the
runner keeps the ledger balanced and totals the removed characters into stats and the report."""

from __future__ import annotations

import json
import random
import shutil
import string

import pytest

from curator.linededup.stage import CHARS_REMOVED, TOO_SHORT, UNITS_REMOVED, LineDedupConfig, LineDedupStage
from curator.spark.runner import PipelineRunner
from curator.specs import PipelineSpec
from curator.stage import StageContext


pytestmark = pytest.mark.spark

SCHEMA = "id string, text string, source string, url string, meta string"
BOILERPLATE = [
    "Subscribe to our newsletter for weekly updates",
    "Copyright 2019 Example Media Group. All rights reserved.",
    "This website uses cookies to improve your experience",
    "Follow us on Twitter and Facebook for more stories",
    "Terms of use | Privacy policy | Contact the editors",
]


def variant(line: str, rng: random.Random) -> str:
    """A copy of ``line`` that normalises to the same unit: case, digits, punctuation, spacing."""
    return rng.choice([line, line.upper(), line.replace("2019", "2024"), line.replace(" ", "  ") + " !",
                       line.replace(".", "").replace("|", "/")])


def word(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))


def planted_corpus(seed: int = 3, n_docs: int = 40):
    """Documents as lists of (line, planted boilerplate index or None); body lines are unique random words."""
    rng = random.Random(seed)
    docs = {}
    for d in range(n_docs):
        # Letters only: digits normalise to 0, so "w123 w456" and "w789 w012" would be one unit.
        body = [(" ".join(word(rng) for _ in range(rng.randint(6, 12))), None) for _ in range(rng.randint(4, 9))]
        docs[f"doc{d:03d}"] = [("Home", None)] + body  # a short line everywhere: below the floor, never removed
    ids = sorted(docs)
    for b, line in enumerate(BOILERPLATE):
        for doc_id in rng.sample(ids, rng.randint(2, 12)):
            lines = docs[doc_id]
            lines.insert(rng.randrange(len(lines) + 1), (variant(line, rng), b))
    # One unique near miss (a word changed), one line repeated inside a single document only, a first holder with
    # two copies of a boilerplate line, and a document made of boilerplate alone.
    docs["doc005"].append(("Subscribe to our newsletter for monthly updates", None))
    docs["doc006"] += [("this line repeats only inside doc006", None)] * 2
    first_holder = min(i for i in ids if any(b == 2 for _, b in docs[i]))
    docs[first_holder].append((BOILERPLATE[2].lower(), 2))
    docs["zzz_only_boilerplate"] = [("Home", None), (BOILERPLATE[0], 0), (BOILERPLATE[4], 4)]
    return docs


def expected_texts(docs, keep_first: bool):
    """Text of every document after removing planted lines held by more than one document."""
    holders = {}
    for doc_id in sorted(docs):
        for _, b in docs[doc_id]:
            if b is not None:
                holders.setdefault(b, []).append(doc_id)
    out = {}
    for doc_id, lines in docs.items():
        kept, spared = [], set()
        for line, b in lines:
            repeated = b is not None and len(set(holders[b])) > 1
            if repeated and keep_first and holders[b][0] == doc_id and b not in spared:
                spared.add(b)
                kept.append(line)
            elif not repeated:
                kept.append(line)
        out[doc_id] = "\n".join(kept)
    return out


def run_stage(spark, docs, tmp, engine: str = "spark", **config):
    """``engine="driver"``: the stage's ``annotate_table`` over an Arrow table (a small run's path, no Spark)."""
    rows = [(doc_id, "\n".join(line for line, _ in lines), "t", None, "{}") for doc_id, lines in docs.items()]
    if engine == "driver":
        import pyarrow as pa

        names = [c.split()[0] for c in SCHEMA.split(", ")]
        table = pa.table({n: pa.array([r[i] for r in rows], pa.string()) for i, n in enumerate(names)})
        annotated, stats = LineDedupStage(LineDedupConfig(**config)).annotate_table(table)
        return {r["id"]: r for r in annotated.to_pylist()}, stats
    shutil.rmtree(tmp, ignore_errors=True)
    ctx = StageContext(spark=spark, run_dir=tmp, scratch_dir=tmp / "scratch", stage_name="line_dedup")
    df = spark.createDataFrame(rows, SCHEMA).repartition(3)
    annotated = LineDedupStage(LineDedupConfig(**config)).annotate(df, ctx)
    return {r["id"]: r.asDict() for r in annotated.frame.collect()}, annotated.extra_stats


@pytest.fixture(scope="module")
def docs():
    return planted_corpus()


# Every test runs on Spark and on the driver engine (curator.spark.in_driver: small local runs, no Spark).
ENGINES = pytest.mark.parametrize("engine", ["spark", "driver"])


@pytest.fixture(scope="module", params=["spark", "driver"])
def result(request, spark, docs, tmp_path_factory):
    return run_stage(spark, docs, tmp_path_factory.mktemp("linededup"), request.param, min_unit_chars=10,
                     min_doc_chars=30)


def test_planted_lines_removed_exactly_first_copy_kept(docs, result):
    rows, stats = result
    assert sorted(rows) == sorted(docs)
    expected = expected_texts(docs, keep_first=True)
    for doc_id, row in rows.items():
        if row["reason"] is None:
            assert row["text"] == expected[doc_id], doc_id
    removed_lines = sum(len(docs[i]) - len(expected[i].split("\n")) for i in docs)
    assert sum(r[UNITS_REMOVED] for r in rows.values()) == removed_lines > 20
    assert stats["repeated_units"] == len(BOILERPLATE)


def test_near_miss_in_document_repeat_and_short_lines_stay(result):
    rows, _ = result
    assert "Subscribe to our newsletter for monthly updates" in rows["doc005"]["text"].split("\n")
    assert rows["doc006"]["text"].split("\n").count("this line repeats only inside doc006") == 2
    assert all(r["text"].split("\n").count("Home") == 1 for r in rows.values())


def test_document_left_too_short_is_rejected_with_original_text(docs, result):
    rows, _ = result
    row = rows["zzz_only_boilerplate"]
    assert row["reason"] == TOO_SHORT and row[UNITS_REMOVED] == 2
    assert row["text"] == "\n".join(line for line, _ in docs["zzz_only_boilerplate"])
    assert [i for i, r in rows.items() if r["reason"] is not None] == ["zzz_only_boilerplate"]


@ENGINES
def test_without_keep_first_every_copy_goes(spark, docs, tmp_path, engine):
    rows, _ = run_stage(spark, docs, tmp_path, engine, min_unit_chars=10, min_doc_chars=0, keep_first=False)
    expected = expected_texts(docs, keep_first=False)
    assert {i: r["text"] for i, r in rows.items()} == expected
    assert all(r["reason"] is None for r in rows.values())  # min_doc_chars=0: nothing is too short


@ENGINES
def test_max_occurrences_spares_units_in_few_documents(spark, docs, tmp_path, engine):
    rows, stats = run_stage(spark, docs, tmp_path, engine, min_unit_chars=10, max_occurrences=100)
    assert stats["repeated_units"] == 0
    assert all(r[UNITS_REMOVED] == 0 and r["reason"] is None for r in rows.values())
    assert {i: r["text"] for i, r in rows.items()} == {i: "\n".join(x for x, _ in v) for i, v in docs.items()}


def test_runner_ledger_stats_and_report(spark, tmp_path):
    corpus = tmp_path / "in.jsonl"
    footer = "-- \nSent from the example mailing list. Unsubscribe at lists.example.org"
    topics = ["whales", "compilers", "bread", "tides", "glaciers", "violins"]
    records = [{"id": f"m{i}", "text": f"This message says something different about {topic}.\n{footer}"}
               for i, topic in enumerate(topics)]
    records.append({"id": "m9", "text": footer})
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    spec = PipelineSpec.model_validate({
        "name": "t", "input": {"paths": [str(corpus)]}, "output": str(tmp_path / "out"),
        "stages": ["ingest", {"stage": "line_dedup", "min_doc_chars": 20}],
    })
    runner = PipelineRunner(spec, spark=spark)
    runner.run_all()
    stats = json.loads((runner.stage_dir("line_dedup") / "stats.json").read_text())
    assert stats["in"] == 7 and stats["kept"] == 6 and stats["rejected"] == {TOO_SHORT: 1}
    # m0 keeps the footer line (first holder); m1..m5 lose it, m9 (rejected) would lose it.
    # Each loses the line, its line break and the space after "--" (whitespace between a kept and a removed unit).
    line = len("Sent from the example mailing list. Unsubscribe at lists.example.org") + 2
    assert stats["totals"] == {UNITS_REMOVED: 6, CHARS_REMOVED: 6 * line}
    assert stats["extra"]["repeated_units"] == 1
    kept = {r["id"]: r["text"] for r in spark.read.parquet(str(runner.stage_dir("line_dedup") / "data")).collect()}
    assert kept["m0"].endswith("lists.example.org")
    assert kept["m3"] == "This message says something different about tides.\n--"
    ledger = json.loads((runner.root / "ledger.json").read_text())
    assert ledger["balanced"] and ledger["input"] == 7 and ledger["kept"] == 6
    report = (runner.root / "report.md").read_text()
    assert f"| {CHARS_REMOVED} | {6 * line:,} |" in report and f"{TOO_SHORT}=1" in report



def test_driver_engine_rewrites_exactly_as_spark(spark, docs, tmp_path):
    """The same rows (text, counts, decisions) and stats from both engines."""
    spark_rows, spark_stats = run_stage(spark, docs, tmp_path / "s", "spark", min_unit_chars=10, min_doc_chars=30)
    driver_rows, driver_stats = run_stage(spark, docs, tmp_path / "d", "driver", min_unit_chars=10, min_doc_chars=30)
    assert driver_rows == spark_rows and driver_stats == spark_stats
    assert any(r[UNITS_REMOVED] for r in driver_rows.values()) and any(r["reason"] for r in driver_rows.values())
