"""Tokenizer recipes (``tokenizers/*.yaml``): everything that decides a trained vocabulary, validated once.

A recipe names the algorithm (``bpe`` and ``unigram`` train with sentencepiece, ``wordpiece`` with HuggingFace
``tokenizers``), the vocabulary size, the special tokens, text normalisation, byte fallback, digit splitting and how
much corpus text the Spark sampler hands the trainer. The recipe is copied into the artifact folder and is part of
the tokenizer's content hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, model_validator

from curator.config import StrictConfig as _Strict
from curator.errors import SpecError, field_errors


class SpecialTokens(_Strict):
    """Special token strings. Their ids are fixed: unk=0, bos=1, eod=2, pad=3 for every algorithm."""

    unk: str = "<unk>"
    bos: str = "<s>"
    eod: str = "<eod>"
    pad: str = "<pad>"

    def in_id_order(self) -> list[str]:
        return [self.unk, self.bos, self.eod, self.pad]

    @model_validator(mode="after")
    def _distinct(self) -> "SpecialTokens":
        tokens = self.in_id_order()
        if len(set(tokens)) != len(tokens) or not all(tokens):
            raise ValueError(f"special tokens must be distinct, non-empty strings, got {tokens}")
        return self


class SampleSpec(_Strict):
    """How much text the Spark sampler collects to the driver for training (bounded: the driver holds it all)."""

    max_documents: int = Field(200_000, gt=0, description="upper bound on sampled documents")
    max_chars: int = Field(200_000_000, gt=0, description="upper bound on total sampled characters")
    max_chars_per_document: int = Field(100_000, gt=0, description="longer documents are truncated for training")
    balance_by_lang: bool = Field(False, description="equal document quota per value of the `lang` column")
    holdout_fraction: float = Field(0.0, ge=0.0, lt=0.5, description=(
        "documents (chosen by a hash of `id`) never sampled for training, so the run report can measure bytes "
        "per token on text the tokenizer has not seen"))
    seed: int = 1234


class TokenizerRecipe(_Strict):
    name: str
    algorithm: Literal["bpe", "unigram", "wordpiece"]
    vocab_size: int = Field(gt=8, le=2**31 - 1)
    special_tokens: SpecialTokens = Field(default_factory=SpecialTokens)
    normalization: Literal["identity", "nfc", "nfkc"] = Field(
        "identity", description="Unicode normalisation applied before encoding (identity keeps text byte-exact)")
    lowercase: bool = False
    byte_fallback: bool = Field(True, description="unknown characters become UTF-8 byte tokens (sentencepiece)")
    split_digits: bool = Field(True, description="every digit is its own token")
    character_coverage: float = Field(0.9995, gt=0.0, le=1.0, description="sentencepiece character coverage")
    max_piece_length: int = Field(16, gt=0)
    sample: SampleSpec = Field(default_factory=SampleSpec)

    @model_validator(mode="after")
    def _algorithm_options(self) -> "TokenizerRecipe":
        if self.algorithm == "wordpiece" and self.byte_fallback:
            raise ValueError("wordpiece has no byte fallback: set byte_fallback: false (unknown words map to unk)")
        if self.algorithm != "wordpiece" and self.normalization == "nfc":
            raise ValueError("sentencepiece has no NFC rule: use identity (ingest already applies NFC) or nfkc")
        if self.algorithm != "wordpiece" and self.lowercase:
            raise ValueError("lowercase is only supported for wordpiece; sentencepiece recipes keep case")
        return self

    @property
    def trainer(self) -> Literal["sentencepiece", "huggingface"]:
        return "huggingface" if self.algorithm == "wordpiece" else "sentencepiece"


def load_recipe(name_or_path: str | Path) -> TokenizerRecipe:
    """A recipe by path or by bare name in ``tokenizers/`` (``bpe_32k``); errors name the bad field."""
    from curator.specs import load_yaml, resolve_spec_file

    path = resolve_spec_file(str(name_or_path), "tokenizers")
    data = load_yaml(path)
    data.setdefault("name", path.stem)
    return parse_recipe(data, str(path))


def parse_recipe(data: dict, where: str = "recipe") -> TokenizerRecipe:
    try:
        return TokenizerRecipe.model_validate(data)
    except ValidationError as error:
        lines = field_errors(error)
        raise SpecError(f"{where}: invalid tokenizer recipe:\n  " + "\n  ".join(lines)) from None


__all__ = ["SampleSpec", "SpecialTokens", "TokenizerRecipe", "load_recipe", "parse_recipe"]
