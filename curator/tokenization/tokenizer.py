"""One tokenizer interface over sentencepiece (BPE, Unigram) and HuggingFace ``tokenizers`` (WordPiece).

A trained tokenizer lives in an *artifact folder*::

    tokenizer.model | tokenizer.json   the model file (sentencepiece | HuggingFace)
    recipe.yaml                        the recipe it was trained from
    artifact.json                      algorithm, vocab size, special ids, content hash, training stats

The content hash (sha256 over the model file and the canonical recipe) pins the exact vocabulary; token manifests
record it. :class:`TokenizerBundle` is the folder read into memory: small, picklable, shipped to Spark tasks so
executors need no shared filesystem for the tokenizer.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from curator.errors import CuratorError


ARTIFACT_META = "artifact.json"
RECIPE_FILE = "recipe.yaml"
MODEL_FILES = {"sentencepiece": "tokenizer.model", "huggingface": "tokenizer.json"}
SPECIAL_IDS = {"unk": 0, "bos": 1, "eod": 2, "pad": 3}  # fixed for every algorithm (see recipe.SpecialTokens)


class TokenizerError(CuratorError):
    """A tokenizer artifact is missing, corrupt, or does not match its recorded hash."""


def content_hash(model_bytes: bytes, recipe: dict[str, Any]) -> str:
    digest = hashlib.sha256(model_bytes)
    digest.update(json.dumps(recipe, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


class Tokenizer(ABC):
    """Encode/decode with fixed special ids; ``encode_batch`` never adds special tokens (callers append EOD)."""

    algorithm: str
    vocab_size: int
    hash: str
    special_tokens: dict[str, str]

    @property
    def special_ids(self) -> dict[str, int]:
        return dict(SPECIAL_IDS)

    @property
    def eod_id(self) -> int:
        return SPECIAL_IDS["eod"]

    @property
    def pad_id(self) -> int:
        return SPECIAL_IDS["pad"]

    @property
    def unk_id(self) -> int:
        return SPECIAL_IDS["unk"]

    @property
    def bos_id(self) -> int:
        return SPECIAL_IDS["bos"]

    @abstractmethod
    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, no special tokens added."""

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    @abstractmethod
    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``; special tokens are dropped."""

    @abstractmethod
    def id_to_piece(self, token_id: int) -> str:
        """The vocabulary entry of one id (for inspection)."""


class SentencePieceTokenizer(Tokenizer):
    def __init__(self, model_bytes: bytes, meta: dict[str, Any], num_threads: int = -1):
        import sentencepiece

        self._processor = sentencepiece.SentencePieceProcessor(model_proto=model_bytes)
        self.algorithm = meta["algorithm"]
        self.vocab_size = int(self._processor.get_piece_size())
        self.hash = meta["hash"]
        self.special_tokens = meta["special_tokens"]
        # -1 = every core; Spark tasks pass 1 because each task already owns one core.
        self.num_threads = num_threads

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return self._processor.encode(list(texts), out_type=int, num_threads=self.num_threads)

    def decode(self, ids: Sequence[int]) -> str:
        return self._processor.decode([int(i) for i in ids])

    def id_to_piece(self, token_id: int) -> str:
        return self._processor.id_to_piece(int(token_id))


class HuggingFaceTokenizer(Tokenizer):
    def __init__(self, model_bytes: bytes, meta: dict[str, Any], num_threads: int = -1):
        from tokenizers import Tokenizer as HFTokenizer

        self._tokenizer = HFTokenizer.from_str(model_bytes.decode("utf-8"))
        self.algorithm = meta["algorithm"]
        self.vocab_size = int(self._tokenizer.get_vocab_size(with_added_tokens=True))
        self.hash = meta["hash"]
        self.special_tokens = meta["special_tokens"]
        self.num_threads = num_threads  # rayon's pool is process-wide; see job.py for how tasks limit it

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        # encode_batch_fast (tokenizers >= 0.21) skips the character offsets, which nothing here reads: the same
        # ids in ~20% less time.
        encode = getattr(self._tokenizer, "encode_batch_fast", self._tokenizer.encode_batch)
        return [encoding.ids for encoding in encode(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode([int(i) for i in ids], skip_special_tokens=True)

    def id_to_piece(self, token_id: int) -> str:
        return self._tokenizer.id_to_token(int(token_id)) or ""


@dataclass(frozen=True)
class TokenizerBundle:
    """An artifact folder in memory: its metadata, the model bytes and the recipe text."""

    meta: dict[str, Any]
    model_bytes: bytes
    recipe_text: str = ""
    source: str = field(default="", compare=False)

    @property
    def hash(self) -> str:
        return self.meta["hash"]

    def load(self, num_threads: int = -1) -> Tokenizer:
        implementation = SentencePieceTokenizer if self.meta["trainer"] == "sentencepiece" else HuggingFaceTokenizer
        return implementation(self.model_bytes, self.meta, num_threads=num_threads)

    def write(self, folder):
        """Write the artifact into ``folder`` (local path or URI); the metadata file, which readers look for
        first, goes last."""
        from curator.io.filesystem import location

        folder = location(folder)
        folder.mkdir()
        (folder / MODEL_FILES[self.meta["trainer"]]).write_bytes(self.model_bytes)
        (folder / RECIPE_FILE).write_text(self.recipe_text)
        (folder / ARTIFACT_META).write_text(json.dumps(self.meta, indent=2, sort_keys=True) + "\n")
        return folder.path if folder.is_local else folder


def read_bundle(folder: str | Path, verify: bool = True) -> TokenizerBundle:
    """Read an artifact folder; with ``verify`` the model bytes and recipe must reproduce the recorded hash."""
    import yaml

    from curator.io.filesystem import location

    folder = location(folder)
    meta_path = folder / ARTIFACT_META
    if not meta_path.is_file():
        raise TokenizerError(f"{folder} is not a tokenizer artifact (no {ARTIFACT_META}); "
                             f"train one with `curator tokenizer train`")
    try:
        meta = json.loads(meta_path.read_text())
        model_path = folder / MODEL_FILES[meta["trainer"]]
        model_bytes = model_path.read_bytes()
        recipe_text = (folder / RECIPE_FILE).read_text()
    except (OSError, KeyError, json.JSONDecodeError) as error:
        raise TokenizerError(f"tokenizer artifact {folder} is incomplete or corrupt: {error}") from error
    if verify and content_hash(model_bytes, yaml.safe_load(recipe_text)) != meta.get("hash"):
        raise TokenizerError(f"tokenizer artifact {folder}: files do not match the recorded hash {meta.get('hash')}")
    return TokenizerBundle(meta=meta, model_bytes=model_bytes, recipe_text=recipe_text, source=str(folder))


def load_tokenizer(folder: str | Path, num_threads: int = -1) -> Tokenizer:
    """The tokenizer stored in an artifact folder written by ``curator tokenizer train``."""
    return read_bundle(folder).load(num_threads=num_threads)


__all__ = [
    "HuggingFaceTokenizer", "SentencePieceTokenizer", "Tokenizer", "TokenizerBundle", "TokenizerError",
    "content_hash", "load_tokenizer", "read_bundle",
]
