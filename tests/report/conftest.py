"""One small real run (ingest -> langid -> quality -> dedup -> pii -> train_tokenizer -> tokenize) shared by the report
tests, and what its corpus is known to contain."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

import pytest


ENGLISH = [
    "The committee met on Tuesday and agreed on the budget for the coming year after a long debate.",
    "Rain is expected across the north of the country later this week, with strong winds near the coast.",
    "The library will open a new reading room for children and students in the spring.",
    "Farmers in the valley reported a good harvest of apples and pears despite the dry summer.",
    "The museum has restored a collection of old maps that show how the city grew over two centuries.",
    "Engineers tested the new bridge with heavy trucks before it was opened to the public.",
    "The orchestra played a program of symphonies and a new piece written by a young composer.",
    "Doctors recommend regular exercise, a balanced diet and enough sleep to stay healthy.",
    "The railway company announced that trains between the two cities will run every hour.",
    "Volunteers cleaned the beach on Saturday and collected more than two hundred bags of litter.",
]
GERMAN = [
    "Der Ausschuss hat sich am Dienstag nach langer Diskussion auf den Haushalt für das kommende Jahr geeinigt.",
    "Im Norden des Landes wird später in dieser Woche Regen erwartet, an der Küste weht ein starker Wind.",
    "Die Bibliothek eröffnet im Frühling einen neuen Lesesaal für Kinder und Studenten der Stadt.",
    "Die Bauern im Tal berichten trotz des trockenen Sommers von einer guten Ernte an Äpfeln und Birnen.",
    "Das Museum hat eine Sammlung alter Karten restauriert, die das Wachstum der Stadt zeigen.",
]
# French is not in the run's language list: rejected as lid_wrong_language. One carries markup that the HTML
# report must escape.
FRENCH = [
    "Le comité s'est réuni mardi et a adopté le budget de l'année prochaine après un long débat. "
    "<script>alert('report')</script> Les habitants attendent les nouvelles mesures avec impatience.",
    "La bibliothèque ouvrira au printemps une nouvelle salle de lecture pour les enfants et les étudiants.",
]
LANGUAGES = ["en", "de"]


def paragraph(rng: random.Random, sentences: list[str], n: int) -> str:
    return " ".join(rng.sample(sentences, n))


@dataclass
class SmallRun:
    root: Path
    corpus: list[dict]  # the well-formed JSON records, in file order

    def stats(self, stage: str) -> dict:
        return json.loads((self.root / stage / "stats.json").read_text())


def build_corpus(path: Path) -> list[dict]:
    rng = random.Random(7)
    records: list[dict] = []
    for i in range(24):
        records.append({"id": f"en-{i}", "text": paragraph(rng, ENGLISH, 6) + f" Report number {i}."})
    for i in range(8):
        records.append({"id": f"de-{i}", "text": paragraph(rng, GERMAN, 4) + f" Bericht Nummer {i}."})
    for i, text in enumerate(FRENCH):
        records.append({"id": f"fr-{i}", "text": text})
    records.append({"id": "en-copy-0", "text": records[0]["text"]})          # exact duplicate of en-0
    records.append({"id": "en-copy-1", "text": records[1]["text"]})          # exact duplicate of en-1
    records.append({"id": "en-near-2", "text": records[2]["text"].replace("Report number 2.", "Report no. 2!")})
    records.append({"id": "short", "text": "Too short."})                    # gopher_short_doc
    records.append({"id": "mail", "text": paragraph(rng, ENGLISH, 5) + " Write to jane.doe@example.org today."})
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    lines.insert(5, '{"id": "broken", "text": ')  # malformed_json at ingest
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return records


@pytest.fixture(scope="session")
def small_run(spark, tmp_path_factory) -> SmallRun:
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    folder = tmp_path_factory.mktemp("report_run")
    corpus = build_corpus(folder / "corpus.jsonl")
    spec = PipelineSpec.model_validate({
        "name": "report-test", "input": {"paths": [str(folder / "corpus.jsonl")]}, "output": str(folder / "run"),
        "stages": [
            {"stage": "ingest"},
            {"stage": "langid", "languages": LANGUAGES, "min_score": 0.5},
            {"stage": "quality", "filters": ["gopher_quality"]},
            {"stage": "dedup", "threshold": 0.7},
            {"stage": "pii", "entities": ["EMAIL_ADDRESS"]},
            {"stage": "train_tokenizer", "recipe": {
                "name": "tiny", "algorithm": "bpe", "vocab_size": 400, "byte_fallback": True,
                "sample": {"max_documents": 1000, "holdout_fraction": 0.25}}},
            {"stage": "tokenize", "shuffle_seed": None},
        ],
    })
    PipelineRunner(spec, spark=spark).run_all(report=True)
    return SmallRun(folder / "run", corpus)
