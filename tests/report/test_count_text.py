"""The per-batch counter behind the language table and bytes per token: pure, no Spark."""

from __future__ import annotations

import pyarrow as pa

from curator.report.figures import NO_LANGUAGE, count_text


def batch(rows):
    return pa.RecordBatch.from_pylist(rows, schema=pa.schema([("lang", pa.string()), ("removed", pa.bool_()),
                                                              ("text", pa.string())]))


def test_counts_documents_characters_and_utf8_bytes_per_language_and_side():
    rows = [{"lang": "en", "removed": False, "text": "abc"}, {"lang": "en", "removed": False, "text": "de"},
            {"lang": "ja", "removed": True, "text": "日本語"}, {"lang": None, "removed": True, "text": None}]
    out = pa.Table.from_batches(list(count_text(iter([batch(rows), batch([])])))).to_pylist()
    by_key = {(r["lang"], r["removed"]): r for r in out}
    assert by_key[("en", False)] == {"lang": "en", "removed": False, "docs": 2, "chars": 5, "bytes": 5, "tokens": 0}
    assert by_key[("ja", True)]["chars"] == 3 and by_key[("ja", True)]["bytes"] == 9
    assert by_key[(NO_LANGUAGE, True)]["docs"] == 1 and by_key[(NO_LANGUAGE, True)]["chars"] == 0


def test_tokens_come_from_the_tokenizer():
    from curator.tokenization.recipe import TokenizerRecipe
    from curator.tokenization.train import train_from_texts

    texts = [f"the quick brown fox number {i} jumps over the lazy dog" for i in range(200)]
    recipe = TokenizerRecipe.model_validate({"name": "t", "algorithm": "bpe", "vocab_size": 300,
                                             "byte_fallback": True})
    tokenizer = train_from_texts(texts, recipe).load()
    rows = [{"lang": "en", "removed": False, "text": t} for t in texts[:5]]
    out = list(count_text(iter([batch(rows)]), tokenizer))[0].to_pylist()[0]
    assert out["tokens"] == sum(len(ids) for ids in tokenizer.encode_batch(texts[:5])) > 0
