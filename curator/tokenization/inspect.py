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


def provenance_report(folder: str | Path, *, locate: str | None = None, doc_id: str | None = None,
                      tokenizer_dir: str | Path | None = None, max_chars: int = 500) -> dict[str, Any]:
    """Answer ``--locate SHARD:TOKEN_OFFSET`` or ``--doc ID``: the source document(s) from the provenance sidecars,
    the text as stored (decoded from the shard), and the run record (manifest ``run`` plus the pipeline run's
    ledger when its folder is still there)."""
    import json

    from curator.errors import CuratorError
    from curator.tokenization.job import TOKENIZER_SUBDIR
    from curator.tokenization.provenance import find_document
    from curator.tokenization.provenance import locate as locate_token
    from curator.tokenization.shards import MegatronShard
    from curator.tokenization.tokenizer import read_bundle

    folder = resolve_tokens_dir(folder)
    manifest = load_manifest(folder)
    if locate:
        shard, _, offset = locate.rpartition(":")
        if not shard or not offset.strip().isdigit():
            raise CuratorError(f"--locate wants SHARD:TOKEN_OFFSET (e.g. part-00000-0000:1234), got {locate!r}")
        matches = [locate_token(folder, manifest, shard, int(offset))]
    elif doc_id is not None:
        matches = find_document(folder, manifest, doc_id)
        if not matches:
            raise CuratorError(f"document {doc_id!r} is not in any shard of {folder}")
    else:
        raise CuratorError("give --locate SHARD:TOKEN_OFFSET or --doc ID")
    tokenizer_path = Path(tokenizer_dir) if tokenizer_dir else folder / TOKENIZER_SUBDIR
    tokenizer = read_bundle(tokenizer_path).load() if tokenizer_path.exists() else None
    for match in matches:
        shard = MegatronShard(folder / match["shard"])
        ids = shard.document(int(match["doc_index"]))
        if tokenizer is not None:
            match["text"] = tokenizer.decode(ids.tolist())[:max_chars]
    run = dict(manifest.run or {})
    run_dir = Path(run["run_dir"]) if run.get("run_dir") else None
    if run_dir is not None and (run_dir / "ledger.json").is_file():
        run["ledger"] = json.loads((run_dir / "ledger.json").read_text())
    return {"folder": str(folder), "documents": matches, "run": run}
