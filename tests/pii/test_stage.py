"""The pii stage: config validation, count columns, the max_entities rejection, no network, and a Spark run."""

from __future__ import annotations

import json
import socket

import pytest
from pydantic import ValidationError

from curator.pii.engine import PiiSetupError
from curator.pii.stage import PiiConfig, PiiStage
from curator.stage import run_batch_stage


DOCS = [
    {"id": "a", "text": "Contact jane@example.com or +1 212 555 0134.", "source": "t"},
    {"id": "b", "text": "A plain sentence about whales, 1851.", "source": "t"},
    {"id": "c", "text": "Hosts 10.0.0.1, 10.0.0.2, 10.0.0.3; admin root@example.org", "source": "t"},
]


@pytest.fixture(scope="module")
def stage():
    stage = PiiStage()
    stage._ensure_setup()
    return stage


def test_counts_columns_and_scrubbed_text(stage):
    kept, rejected = run_batch_stage(stage, DOCS)
    assert rejected == []
    by_id = {row["id"]: row for row in kept}
    assert by_id["a"]["text"] == "Contact <EMAIL_ADDRESS> or <PHONE_NUMBER>."
    assert (by_id["a"]["pii_email_address"], by_id["a"]["pii_phone_number"], by_id["a"]["pii_total"]) == (1, 1, 2)
    assert by_id["b"]["text"] == DOCS[1]["text"] and by_id["b"]["pii_total"] == 0
    assert by_id["c"]["pii_ip_address"] == 3 and by_id["c"]["pii_email_address"] == 1 and by_id["c"]["pii_total"] == 4
    assert {f.name for f in stage.annotation_fields()} == {
        "pii_email_address", "pii_phone_number", "pii_ip_address", "pii_credit_card", "pii_iban_code", "pii_us_ssn",
        "pii_national_id", "pii_street_address", "pii_secret", "pii_total",
    }


def test_max_entities_rejects_with_reason_and_scrubs_rejected_text():
    stage = PiiStage(PiiConfig(max_entities=2))
    kept, rejected = run_batch_stage(stage, DOCS)
    assert sorted(r["id"] for r in kept) == ["a", "b"]
    assert [(r["id"], r["reason"], r["reason_detail"]) for r in rejected] == [
        ("c", "pii_too_many_entities", "4 entities > max_entities 2")
    ]
    assert "10.0.0.1" not in rejected[0]["text"] and "root@example.org" not in rejected[0]["text"]


def test_configured_entities_threshold_and_placeholders():
    stage = PiiStage(PiiConfig(entities=["EMAIL_ADDRESS"], placeholders={"EMAIL_ADDRESS": "[email]"}))
    kept, _ = run_batch_stage(stage, DOCS[:1])
    assert kept[0]["text"] == "Contact [email] or +1 212 555 0134."
    assert "pii_phone_number" not in kept[0] and kept[0]["pii_total"] == 1
    # Phone numbers score 0.4 without context words: a higher threshold keeps them.
    strict = PiiStage(PiiConfig(entities=["PHONE_NUMBER"], score_threshold=0.5))
    kept, _ = run_batch_stage(strict, [{"id": "x", "text": "dial +1 212 555 0134 now"}])
    assert kept[0]["text"] == "dial +1 212 555 0134 now"


def test_other_presidio_entities_can_be_configured():
    stage = PiiStage(PiiConfig(entities=["URL", "EMAIL_ADDRESS"]))
    kept, _ = run_batch_stage(stage, [{"id": "u", "text": "docs at https://example.org/guide and mail a@example.org"}])
    assert kept[0]["text"] == "docs at <URL> and mail <EMAIL_ADDRESS>"
    assert stage.scrubber.prescreen is None  # URL has no candidate pattern: documents are analysed whole


def test_config_errors_are_clear():
    with pytest.raises(ValidationError, match="ner_model"):
        PiiConfig(entities=["PERSON", "EMAIL_ADDRESS"])
    with pytest.raises(ValidationError, match="not configured"):
        PiiConfig(entities=["EMAIL_ADDRESS"], placeholders={"PHONE_NUMBER": "<phone>"})
    with pytest.raises(ValidationError, match="upper-case"):
        PiiConfig(entities=["email"])
    with pytest.raises(ValidationError, match="max_entities"):
        PiiConfig(max_entities=-1)
    with pytest.raises(ValidationError, match="Extra inputs"):
        PiiConfig(treshold=0.5)
    with pytest.raises(ValidationError, match="(?s)phone_regions.*unknown ISO 3166 regions.*XX"):
        PiiConfig(phone_regions=["us", "XX"])
    with pytest.raises(ValidationError, match="(?s)keep_ip_networks.*not an IP network"):
        PiiConfig(keep_ip_networks=["10.0.0.0/33"])
    assert PiiConfig(phone_regions=[" gb"]).phone_regions == ["GB"]


def test_missing_spacy_model_is_a_clear_error_not_a_download():
    stage = PiiStage(PiiConfig(entities=["PERSON"], ner_model="xx_no_such_model_sm"))
    with pytest.raises(PiiSetupError, match="xx_no_such_model_sm.*neither an installed package nor a model folder.*"
                       "never downloads") as error:
        stage._ensure_setup()
    assert "spacy download" not in str(error.value)


def test_unknown_entity_is_a_clear_error():
    with pytest.raises(PiiSetupError, match="NO_SUCH_ENTITY"):
        PiiStage(PiiConfig(entities=["NO_SUCH_ENTITY"]))._ensure_setup()


def test_stage_runs_with_networking_blocked(monkeypatch):
    import tldextract.tldextract as tld

    attempts = []

    def refuse(sock, address, *args, **kwargs):
        attempts.append(address)
        raise OSError(f"network blocked in test: {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    # A fresh, default extractor, as in a new worker: it would fetch the public suffix list on first use.
    monkeypatch.setattr(tld, "TLD_EXTRACTOR", tld.TLDExtract(cache_dir=None))
    kept, _ = run_batch_stage(PiiStage(), [{"id": "n", "text": "write to someone@example.co.uk or a@b.example.org"}])
    assert kept[0]["text"] == "write to <EMAIL_ADDRESS> or <EMAIL_ADDRESS>"
    assert attempts == []


@pytest.mark.spark
def test_pipeline_run_writes_totals_and_balances(spark, tmp_path):
    from curator.spark.runner import PipelineRunner
    from curator.specs import PipelineSpec

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": d["id"], "text": d["text"]}) + "\n" for d in DOCS))
    spec = PipelineSpec.model_validate({
        "name": "pii_test", "input": {"paths": [str(path)]}, "output": str(tmp_path / "out"),
        "stages": [{"stage": "ingest"}, {"stage": "pii", "max_entities": 3}],
    })
    runner = PipelineRunner(spec, spark=spark)
    stats = runner.run_all()[-1].stats
    assert stats["in"] == 3 and stats["kept"] == 2 and stats["rejected"] == {"pii_too_many_entities": 1}
    assert stats["totals"]["pii_total"] == 6
    assert stats["totals"]["pii_ip_address"] == 3 and stats["totals"]["pii_email_address"] == 2
    assert runner.ledger()["balanced"]
    kept = {r["id"]: r for r in spark.read.parquet(str(runner.stage_dir("pii") / "data")).collect()}
    assert kept["a"]["text"] == "Contact <EMAIL_ADDRESS> or <PHONE_NUMBER>."
    assert kept["b"]["text"] == DOCS[1]["text"]


def test_presidio_is_built_on_first_candidate_and_without_torch():
    # A fresh interpreter: setup is cheap (no presidio), a batch with no candidate leaves presidio unbuilt, and the
    # blank-tokenizer analyzer is built without importing torch (thinc would otherwise import it).
    import subprocess
    import sys

    script = """
import sys
from curator.pii.stage import PiiStage, PiiConfig
stage = PiiStage(PiiConfig()); stage._ensure_setup()
assert "presidio_analyzer" not in sys.modules
assert stage.scrubber.scrub("nothing personal here at all").counts == {}
assert "presidio_analyzer" not in sys.modules
result = stage.scrubber.scrub("write to jo@example.com today")
assert result.text == "write to <EMAIL_ADDRESS> today", result
assert "presidio_analyzer" in sys.modules and "torch" not in sys.modules
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
