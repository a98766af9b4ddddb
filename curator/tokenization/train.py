"""Train a tokenizer: Spark samples a bounded amount of corpus text, the driver trains on it.

Sampling is the only distributed part: the trainers (sentencepiece, HuggingFace ``tokenizers``) are single-process
and need the text in memory, so :class:`~curator.tokenization.recipe.SampleSpec` bounds what reaches the driver.
"""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import yaml

from curator.atomic import atomic_folder
from curator.errors import CuratorError
from curator.tokenization.recipe import SampleSpec, TokenizerRecipe
from curator.tokenization.tokenizer import SPECIAL_IDS, TokenizerBundle, content_hash


if TYPE_CHECKING:
    from pyspark.sql import DataFrame


log = logging.getLogger("curator.tokenization")
# sentencepiece trains on "sentences"; longer ones are skipped by default, so documents are cut into lines/chunks.
MAX_SENTENCE_BYTES = 16_384


class EmptyCorpusError(CuratorError):
    """There is no text to train on or to tokenize."""


# -- sampling (Spark) -------------------------------------------------------------------------------------------


def sample_training_texts(df: "DataFrame", spec: SampleSpec) -> tuple[list[str], dict[str, Any]]:
    """A bounded random sample of non-empty texts (optionally an equal quota per ``lang``) collected to the driver."""
    from pyspark.sql import functions as F

    if "text" not in df.columns:
        raise CuratorError(f"the corpus has no `text` column (columns: {df.columns})")
    frame = df.where(F.col("text").isNotNull() & (F.length(F.trim("text")) > 0))
    stats: dict[str, Any] = {}
    if spec.holdout_fraction > 0:
        if "id" not in df.columns:
            raise CuratorError("sample.holdout_fraction needs an `id` column to choose held-out documents by")
        frame = frame.where(~heldout_documents(spec.holdout_fraction, spec.seed))
        stats["holdout"] = {"fraction": spec.holdout_fraction, "seed": spec.seed}
    if spec.balance_by_lang:
        if "lang" not in df.columns:
            raise CuratorError("sample.balance_by_lang needs a `lang` column: run the langid stage first")
        counts = {row["lang"]: row["count"] for row in frame.groupBy("lang").count().collect()}
        if not counts:
            raise EmptyCorpusError("the corpus holds no non-empty text to train a tokenizer on")
        quota = max(1, spec.max_documents // len(counts))
        # 10% headroom so the random sample rarely falls short of the quota; the exact cap is applied below.
        fractions = {lang: min(1.0, 1.1 * quota / count) for lang, count in counts.items()}
        frame = frame.sampleBy("lang", fractions, seed=spec.seed)
        per_lang_cap = {lang: quota for lang in counts}
        stats["languages"] = len(counts)
    else:
        total = frame.count()
        if total == 0:
            raise EmptyCorpusError("the corpus holds no non-empty text to train a tokenizer on")
        if total > spec.max_documents:
            frame = frame.sample(fraction=min(1.0, 1.1 * spec.max_documents / total), seed=spec.seed)
        per_lang_cap = None
    columns = [F.substring("text", 1, spec.max_chars_per_document).alias("text")]
    columns.append(F.col("lang") if per_lang_cap is not None else F.lit(None).alias("lang"))
    rows = ((row["text"], row["lang"]) for row in frame.select(*columns).toLocalIterator())
    return take_sample(rows, spec, per_lang_cap, stats)


def take_sample(rows: Iterable[tuple[str, Any]], spec: SampleSpec, per_lang_cap: dict[Any, int] | None,
                stats: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The sampled ``(text, lang)`` rows taken in order up to the recipe's caps (documents, characters, and with
    ``per_lang_cap`` documents per language); ``stats`` gains the sample's counts."""
    texts: list[str] = []
    taken_per_lang: dict[Any, int] = {}
    chars = 0
    for text, lang in rows:
        if per_lang_cap is not None:
            if taken_per_lang.get(lang, 0) >= per_lang_cap[lang]:
                continue
            taken_per_lang[lang] = taken_per_lang.get(lang, 0) + 1
        texts.append(text)
        chars += len(text)
        if len(texts) >= spec.max_documents or chars >= spec.max_chars:
            break
    if not texts:
        raise EmptyCorpusError("the sample drew no text: the corpus is empty or every text is blank")
    stats.update(sampled_documents=len(texts), sampled_chars=chars)
    if taken_per_lang:
        stats["sampled_per_lang"] = dict(sorted(taken_per_lang.items()))
    return texts, stats


def heldout_documents(fraction: float, seed: int):
    """Spark condition true for the documents a recipe holds out of tokenizer training (stable: a hash of ``id``)."""
    from pyspark.sql import functions as F

    return (F.abs(F.xxhash64(F.col("id"), F.lit(seed))) % 10_000) < int(round(fraction * 10_000))


# -- training (driver) ------------------------------------------------------------------------------------------


def training_sentences(texts: Iterable[str], max_bytes: int = MAX_SENTENCE_BYTES) -> Iterator[str]:
    """Non-blank lines of every text, long lines cut into chunks that sentencepiece accepts."""
    max_chars = max_bytes // 4  # a UTF-8 character is at most 4 bytes
    for text in texts:
        for line in text.split("\n"):
            if not line.strip():
                continue
            for start in range(0, len(line), max_chars):
                yield line[start:start + max_chars]


def train_from_texts(texts: list[str], recipe: TokenizerRecipe) -> TokenizerBundle:
    """Train the recipe's tokenizer on ``texts`` in this process and return it as an in-memory artifact."""
    if not any(t.strip() for t in texts):
        raise EmptyCorpusError("no non-blank text to train a tokenizer on")
    started = time.time()
    if recipe.trainer == "sentencepiece":
        model_bytes = _train_sentencepiece(texts, recipe)
    else:
        model_bytes = _train_wordpiece(texts, recipe)
    recipe_dict = recipe.model_dump(mode="json")
    meta = {
        "algorithm": recipe.algorithm,
        "trainer": recipe.trainer,
        "recipe_name": recipe.name,
        "hash": content_hash(model_bytes, recipe_dict),
        "special_tokens": recipe.special_tokens.model_dump(),
        "special_ids": dict(SPECIAL_IDS),
        "training": {"documents": len(texts), "chars": sum(map(len, texts)),
                     "seconds": round(time.time() - started, 2)},
    }
    bundle = TokenizerBundle(meta=meta, model_bytes=model_bytes,
                             recipe_text=yaml.safe_dump(recipe_dict, sort_keys=True, allow_unicode=True))
    tokenizer = bundle.load()
    meta["vocab_size"] = tokenizer.vocab_size
    for name, token in recipe.special_tokens.model_dump().items():
        if tokenizer.id_to_piece(SPECIAL_IDS[name]) != token:
            raise CuratorError(f"trained tokenizer put {token!r} at the wrong id (expected {SPECIAL_IDS[name]})")
    if tokenizer.vocab_size < recipe.vocab_size:
        log.warning("tokenizer %s: corpus too small for %d pieces; trained %d", recipe.name, recipe.vocab_size,
                    tokenizer.vocab_size)
    return bundle


def _train_sentencepiece(texts: list[str], recipe: TokenizerRecipe) -> bytes:
    import sentencepiece

    special = recipe.special_tokens
    model = io.BytesIO()
    sentencepiece.set_random_generator_seed(recipe.sample.seed)
    try:
        sentencepiece.SentencePieceTrainer.train(
            sentence_iterator=training_sentences(texts),
            model_writer=model,
            model_type=recipe.algorithm,
            vocab_size=recipe.vocab_size,
            # identity keeps text byte-exact (ingest already applied NFC); whitespace is kept as written.
            normalization_rule_name=recipe.normalization,
            remove_extra_whitespaces=False,
            allow_whitespace_only_pieces=True,
            byte_fallback=recipe.byte_fallback,
            split_digits=recipe.split_digits,
            character_coverage=recipe.character_coverage,
            max_sentencepiece_length=recipe.max_piece_length,
            max_sentence_length=MAX_SENTENCE_BYTES,
            unk_id=SPECIAL_IDS["unk"], bos_id=SPECIAL_IDS["bos"], eos_id=SPECIAL_IDS["eod"],
            pad_id=SPECIAL_IDS["pad"], unk_piece=special.unk, bos_piece=special.bos, eos_piece=special.eod,
            pad_piece=special.pad,
            # A small corpus may not support the requested size: train what it supports instead of failing.
            hard_vocab_limit=False,
            num_threads=max(1, os.cpu_count() or 1),
            minloglevel=2,
        )
    except RuntimeError as error:
        raise CuratorError(f"sentencepiece could not train {recipe.name!r}: {error}") from error
    return model.getvalue()


def _train_wordpiece(texts: list[str], recipe: TokenizerRecipe) -> bytes:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

    special = recipe.special_tokens
    tokenizer = Tokenizer(models.WordPiece(unk_token=special.unk, max_input_chars_per_word=100))
    steps = {"identity": [], "nfc": [normalizers.NFC()], "nfkc": [normalizers.NFKC()]}[recipe.normalization]
    if recipe.lowercase:
        steps.append(normalizers.Lowercase())
    if steps:
        tokenizer.normalizer = normalizers.Sequence(steps)
    splitters = [pre_tokenizers.BertPreTokenizer()]
    if recipe.split_digits:
        splitters.append(pre_tokenizers.Digits(individual_digits=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(splitters)
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    trainer = trainers.WordPieceTrainer(
        vocab_size=recipe.vocab_size,
        special_tokens=special.in_id_order(),  # in id order: unk=0, bos=1, eod=2, pad=3
        show_progress=False,
        continuing_subword_prefix="##",
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer.to_str().encode("utf-8")


# -- artifact ----------------------------------------------------------------------------------------------------


def write_artifact(bundle: TokenizerBundle, output_dir: str | Path, overwrite: bool = False) -> Path:
    """Write the artifact folder atomically: a hidden sibling folder renamed into place."""
    output_dir = Path(output_dir)
    if output_dir.exists() and any(output_dir.iterdir()) and not overwrite:
        raise CuratorError(f"{output_dir} exists and is not empty; pass --force to replace it")
    with atomic_folder(output_dir) as staging:
        bundle.write(staging)
    return output_dir


def train_tokenizer(df: "DataFrame", recipe: TokenizerRecipe, output_dir: str | Path,
                    overwrite: bool = False) -> dict[str, Any]:
    """Sample ``df`` on Spark, train on the driver, write the artifact folder; return stats."""
    texts, sample_stats = sample_training_texts(df, recipe.sample)
    return training_report(texts, sample_stats, recipe, output_dir, overwrite)


def training_report(texts: list[str], sample_stats: dict[str, Any], recipe: TokenizerRecipe,
                    output_dir: str | Path, overwrite: bool = False) -> dict[str, Any]:
    """Train on the sampled ``texts``, write the artifact folder and return the stage's stats."""
    from curator.report.checks import tokenizer_size_warning

    warning = tokenizer_size_warning(recipe.vocab_size, sample_stats["sampled_chars"])
    if warning:
        log.warning(warning)
    bundle = train_from_texts(texts, recipe)
    write_artifact(bundle, output_dir, overwrite=overwrite)
    return {"recipe": recipe.name, "algorithm": recipe.algorithm, "vocab_size": bundle.meta["vocab_size"],
            "hash": bundle.hash, "artifact": str(output_dir), **sample_stats,
            "train_seconds": bundle.meta["training"]["seconds"]}


__all__ = [
    "EmptyCorpusError", "heldout_documents", "sample_training_texts", "train_from_texts", "train_tokenizer",
    "take_sample", "training_report", "training_sentences", "write_artifact",
]
