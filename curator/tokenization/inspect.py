"""``curator inspect TOKENS_DIR``: what a tokens folder holds, checked against its manifest, with decoded samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curator.tokenization.manifest import load_manifest, verify_shards


def resolve_tokens_dir(path: str | Path) -> Path:
    """A tokens folder, or a ``tokenize`` stage folder holding ``tokens/``."""
    path = Path(path)
    if not (path / "manifest.json").exists() and (path / "tokens" / "manifest.json").exists():
        return path / "tokens"
    return path


def inspect_tokens(folder: str | Path, documents: int = 3, tokenizer_dir: str | Path | None = None,
                   max_chars: int = 300, check_hashes: bool = False) -> dict[str, Any]:
    """Totals, per-shard counts (read from the shard files, which must agree with the manifest) and the first
    ``documents`` documents decoded with the folder's tokenizer copy or ``tokenizer_dir``."""
    from curator.tokenization.job import TOKENIZER_SUBDIR
    from curator.tokenization.shards import MegatronShard
    from curator.tokenization.tokenizer import TokenizerError, read_bundle

    folder = resolve_tokens_dir(folder)
    manifest = verify_shards(folder, load_manifest(folder), check_hashes=check_hashes)
    shards = []
    for entry, prefix in zip(manifest.shards, manifest.shard_prefixes(folder)):
        shard = MegatronShard(prefix)
        shards.append({"prefix": entry.prefix, "documents": shard.num_documents, "tokens": shard.num_tokens,
                       "mean_tokens_per_document": round(shard.num_tokens / max(1, shard.num_documents), 1)})
    samples: list[dict[str, Any]] = []
    tokenizer_path = Path(tokenizer_dir) if tokenizer_dir else folder / TOKENIZER_SUBDIR
    tokenizer = None
    note = None
    if tokenizer_path.exists():
        bundle = read_bundle(tokenizer_path)
        if bundle.hash != manifest.tokenizer.hash:
            raise TokenizerError(f"tokenizer {tokenizer_path} (hash {bundle.hash[:12]}) did not produce these "
                                 f"tokens (manifest hash {manifest.tokenizer.hash[:12]})")
        tokenizer = bundle.load()
    else:
        note = f"no tokenizer at {tokenizer_path}: showing ids only"
    remaining = documents
    for prefix in manifest.shard_prefixes(folder):
        if remaining <= 0:
            break
        shard = MegatronShard(prefix)
        for i in range(min(remaining, shard.num_documents)):
            ids = shard.document(i)
            sample: dict[str, Any] = {"shard": prefix.name, "index": i, "tokens": int(ids.size),
                                      "ends_with_eod": bool(ids.size and ids[-1] == manifest.tokenizer.eod_id)}
            if tokenizer is not None:
                sample["text"] = tokenizer.decode(ids.tolist())[:max_chars]
            else:
                sample["ids"] = ids[:32].tolist()
            samples.append(sample)
            remaining -= 1
    return {"folder": str(folder), "format": manifest.format, "dtype": manifest.dtype,
            "tokenizer": manifest.tokenizer.model_dump(), "documents": manifest.documents,
            "tokens": manifest.tokens, "rejected": manifest.rejected, "shards": shards, "samples": samples,
            **({"note": note} if note else {})}
