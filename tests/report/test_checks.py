"""Warnings for choices that look wrong: pure functions, no Spark."""

from __future__ import annotations

from curator.report.checks import bytes_per_token_warnings, run_warnings, stage_warnings, tokenizer_size_warning
from curator.report.run import RunFolder, StageOutput


def test_a_32k_vocabulary_on_1_7_million_characters_is_flagged():
    warning = tokenizer_size_warning(32_000, 1_700_000)
    assert warning and "32,000-piece" in warning and "1.7 M characters" in warning
    assert "53 characters per piece" in warning
    assert "about 8,448 pieces" in warning  # 1.7M / 200 rounded down to a multiple of 256


def test_a_4k_vocabulary_on_the_same_text_is_fine():
    assert tokenizer_size_warning(4096, 1_700_000) is None


def test_stage_removing_most_of_its_input_is_flagged():
    stats = {"in": 100, "kept": 30, "rejected_total": 70, "rejected": {"lid_wrong_language": 60, "lid_low_score": 10}}
    warnings = stage_warnings("langid", stats)
    assert any("rejected 70 of 100 documents (70%" in w for w in warnings)
    assert any("reason lid_wrong_language alone rejected 60" in w and "--reason lid_wrong_language" in w
               for w in warnings)
    assert not any("lid_low_score" in w for w in warnings)


def test_small_or_healthy_stages_say_nothing():
    assert stage_warnings("langid", {"in": 10, "kept": 1, "rejected_total": 9, "rejected": {"x": 9}}) == []
    assert stage_warnings("quality", {"in": 100, "kept": 80, "rejected_total": 20, "rejected": {"x": 20}}) == []


def test_bytes_per_token_close_to_one_is_flagged():
    rows = [{"lang": "hi", "docs": 10, "bytes_per_token": 1.1}, {"lang": "en", "docs": 10, "bytes_per_token": 3.9},
            {"lang": "ar", "docs": 2, "bytes_per_token": 1.0}]
    warnings = bytes_per_token_warnings(rows)
    assert len(warnings) == 1 and warnings[0].startswith("tokenizer: hi encodes at 1.10 bytes per token")


def test_run_warnings_combine_ledger_stages_and_tokenizer(tmp_path):
    stages = [StageOutput("langid", tmp_path, {"in": 100, "kept": 40, "rejected_total": 60, "rejected": {"a": 30,
                                                                                                          "b": 30}}),
              StageOutput("train_tokenizer", tmp_path, {"sink": True, "vocab_size": 32_000,
                                                        "sampled_chars": 1_700_000})]
    run = RunFolder(tmp_path, stages, {"input": 100, "balanced": False})
    warnings = run_warnings(run, {"tokenizer": {"bytes_per_token": [{"lang": "ja", "docs": 9,
                                                                     "bytes_per_token": 1.2}]}})
    assert warnings[0].startswith("ledger:")
    assert any(w.startswith("langid: rejected 60") for w in warnings)
    assert any(w.startswith("train_tokenizer: tokenizer: a 32,000-piece") for w in warnings)
    assert warnings[-1].startswith("tokenizer: ja encodes")
