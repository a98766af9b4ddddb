"""Recipes and the tokenizer interface over sentencepiece (BPE, Unigram) and HuggingFace WordPiece."""

from __future__ import annotations

import json

import pytest

from curator.errors import SpecError
from curator.specs import REPO_ROOT
from curator.tokenization.job import REJECT_EMPTY, REJECT_MISSING_TEXT, encode_documents
from curator.tokenization.recipe import load_recipe, parse_recipe
from curator.tokenization.tokenizer import TokenizerError, load_tokenizer, read_bundle
from curator.tokenization.train import EmptyCorpusError, train_from_texts, training_sentences, write_artifact


HELD_OUT = [
    "It was the best of whales, it was the worst of whales.\nThe crew numbered 1234 men.",
    "Ahab stood  upon the quarter-deck;\n\n\tthe sea was calm — and the wind was gone.",
    "Unseen characters: Σπερματσέτο, 鯨, ü and an emoji 🐋 at the end.",
]
PLAIN = "the whale and the sea were calm on that morning and the men slept"


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "tokenizers").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_recipe_is_valid(path):
    recipe = load_recipe(path.stem)
    assert recipe.name == path.stem and recipe.vocab_size > 256


def test_recipe_errors_name_the_field():
    with pytest.raises(SpecError, match="byte fallback"):
        parse_recipe({"name": "x", "algorithm": "wordpiece", "vocab_size": 1000, "byte_fallback": True})
    with pytest.raises(SpecError, match="vocab_sise"):
        parse_recipe({"name": "x", "algorithm": "bpe", "vocab_sise": 1000})
    with pytest.raises(SpecError, match="special tokens must be distinct"):
        parse_recipe({"name": "x", "algorithm": "bpe", "vocab_size": 1000,
                      "special_tokens": {"eod": "<s>", "bos": "<s>"}})
    with pytest.raises(SpecError, match="no tokenizers spec"):
        load_recipe("no_such_recipe")


@pytest.mark.parametrize("algorithm", ["bpe", "unigram"])
def test_sentencepiece_round_trip_is_exact(trained_bundles, algorithm):
    tokenizer = trained_bundles[algorithm].load()
    assert tokenizer.algorithm == algorithm
    encoded = tokenizer.encode_batch(HELD_OUT)
    for text, ids in zip(HELD_OUT, encoded):
        assert tokenizer.unk_id not in ids  # byte fallback: nothing is unknown
        assert tokenizer.decode(ids) == text


def test_wordpiece_round_trip_up_to_whitespace(trained_bundles):
    tokenizer = trained_bundles["wordpiece"].load()
    ids = tokenizer.encode(PLAIN)
    assert tokenizer.unk_id not in ids
    assert tokenizer.decode(ids) == PLAIN
    text = HELD_OUT[0]
    assert "".join(tokenizer.decode(tokenizer.encode(text)).split()) == "".join(text.split())


@pytest.mark.parametrize("algorithm", ["bpe", "unigram", "wordpiece"])
def test_special_ids_and_no_implicit_specials(trained_bundles, algorithm):
    tokenizer = trained_bundles[algorithm].load()
    assert tokenizer.special_ids == {"unk": 0, "bos": 1, "eod": 2, "pad": 3}
    assert [tokenizer.id_to_piece(i) for i in range(4)] == ["<unk>", "<s>", "<eod>", "<pad>"]
    ids = tokenizer.encode(PLAIN)
    assert not {tokenizer.bos_id, tokenizer.eod_id, tokenizer.pad_id} & set(ids)
    assert tokenizer.decode(ids + [tokenizer.eod_id]).strip() == tokenizer.decode(ids).strip()
    assert 256 < tokenizer.vocab_size <= 1000


@pytest.mark.parametrize("algorithm", ["bpe", "wordpiece"])
def test_digits_are_split(trained_bundles, algorithm):
    tokenizer = trained_bundles[algorithm].load()
    # Each id decodes on its own (a byte-fallback id for a digit never seen in training decodes to that digit).
    pieces = [tokenizer.decode([i]).replace("##", "") for i in tokenizer.encode("year 18519")]
    digit_pieces = [p.strip() for p in pieces if any(c.isdigit() for c in p)]
    assert digit_pieces == ["1", "8", "5", "1", "9"]


def test_artifact_round_trip_and_hash_check(trained_bundles, tmp_path):
    folder = write_artifact(trained_bundles["unigram"], tmp_path / "uni")
    assert sorted(p.name for p in folder.iterdir()) == ["artifact.json", "recipe.yaml", "tokenizer.model"]
    assert read_bundle(folder).hash == trained_bundles["unigram"].hash
    assert load_tokenizer(folder).encode(PLAIN) == trained_bundles["unigram"].load().encode(PLAIN)
    meta = json.loads((folder / "artifact.json").read_text())
    assert meta["algorithm"] == "unigram" and len(meta["hash"]) == 64
    (folder / "recipe.yaml").write_text((folder / "recipe.yaml").read_text().replace("1000", "1001"))
    with pytest.raises(TokenizerError, match="hash"):
        read_bundle(folder)
    with pytest.raises(TokenizerError, match="not a tokenizer artifact"):
        read_bundle(tmp_path)


def test_training_is_deterministic_for_sentencepiece(moby_texts):
    recipe = load_recipe("bpe_demo").model_copy(update={"vocab_size": 600})
    assert train_from_texts(moby_texts[:20], recipe).hash == train_from_texts(moby_texts[:20], recipe).hash


def test_training_on_blank_text_is_a_clear_error():
    with pytest.raises(EmptyCorpusError):
        train_from_texts(["", "   \n  "], load_recipe("bpe_demo"))


def test_training_sentences_split_lines_and_cut_long_ones():
    sentences = list(training_sentences(["a\n\n  \nb", "x" * 10_000], max_bytes=4_000))
    assert sentences[:2] == ["a", "b"]
    assert all(len(s) <= 1_000 for s in sentences[2:]) and "".join(sentences[2:]) == "x" * 10_000


def test_encode_documents_appends_eod_and_rejects(trained_bundles):
    tokenizer = trained_bundles["bpe"].load()
    ids, reasons = encode_documents(tokenizer, ["the whale", "", None, "sea"])
    assert reasons == [None, REJECT_EMPTY, REJECT_MISSING_TEXT, None]
    assert ids[0][-1] == tokenizer.eod_id and ids[0][:-1] == tokenizer.encode("the whale")
    assert ids[1] == [] and ids[2] == [] and ids[3][-1] == tokenizer.eod_id
    wordpiece = trained_bundles["wordpiece"].load()
    assert encode_documents(wordpiece, ["   \n "])[1] == [REJECT_EMPTY]
