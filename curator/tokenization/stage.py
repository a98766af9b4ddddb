"""Pipeline sink stages: ``train_tokenizer`` (sample + train, artifact in ``<stage>/tokenizer``) and ``tokenize``
(Megatron shards + ``manifest.json`` in ``<stage>/tokens``).

``tokenize`` uses the artifact of the ``train_tokenizer`` stage of the same run unless ``tokenizer`` names a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from curator.errors import CuratorError
from curator.stage import Stage, StageConfig, StageContext
from curator.tokenization.recipe import TokenizerRecipe
from curator.tokenization.rehydrate import RehydrationConfig


ARTIFACT_SUBDIR = "tokenizer"
TOKENS_SUBDIR = "tokens"


class TrainTokenizerConfig(StageConfig):
    recipe: TokenizerRecipe = Field(description="recipe name in tokenizers/, a YAML path, or an inline recipe")

    @field_validator("recipe", mode="before")
    @classmethod
    def _load_named_recipe(cls, value):
        # Loading here puts the whole recipe (not just its name) into the stage fingerprint.
        if isinstance(value, (str, Path)):
            from curator.tokenization.recipe import load_recipe

            return load_recipe(str(value))
        return value


class TrainTokenizerStage(Stage):
    name = "train_tokenizer"
    Config = TrainTokenizerConfig
    is_sink = True

    def run_sink(self, df, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
        from curator.tokenization.train import train_tokenizer

        stats = train_tokenizer(df, self.config.recipe, out_dir / ARTIFACT_SUBDIR)
        stats["artifact"] = str(final_folder(ctx, out_dir) / ARTIFACT_SUBDIR)
        return stats

    def run_sink_table(self, table, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
        """:meth:`run_sink` over an Arrow table (a small run in the driver process, :mod:`curator.spark.in_driver`)."""
        from curator.tokenization.in_process import train_tokenizer

        stats = train_tokenizer(table, self.config.recipe, out_dir / ARTIFACT_SUBDIR)
        stats["artifact"] = str(final_folder(ctx, out_dir) / ARTIFACT_SUBDIR)
        return stats


class TokenizeConfig(StageConfig):
    tokenizer: str | None = Field(None, description="artifact folder; default: the run's tokenizer_stage output")
    tokenizer_stage: str = Field("train_tokenizer", description="sink stage of this run that trained the tokenizer")
    dtype: Literal["auto", "uint16", "int32"] = "auto"
    target_shard_tokens: int | None = Field(None, gt=0, description="roll to a new shard after this many tokens")
    num_shards: int | None = Field(None, gt=0, description="number of tasks (default: the input's partitions)")
    shuffle_seed: int | None = Field(1234, description="shuffle documents before writing; null keeps input order")
    rehydrate: RehydrationConfig | None = Field(None, description="upsample by duplicate-group size (needs dedup)")
    provenance: bool = Field(True, description="write a provenance sidecar (Parquet) beside every shard")

    @model_validator(mode="after")
    def _digest_tokenizer(self):
        # A tokenizer folder of the user's: its recorded content hash goes into the dump (and the stage fingerprint),
        # so a retrained tokenizer at the same path reruns tokenize. Remote folders are not read while a spec is
        # validated (no network then): for them the path alone counts.
        if self.tokenizer and "://" not in self.tokenizer:
            import json

            from curator.tokenization.tokenizer import ARTIFACT_META

            try:
                digest = str(json.loads((Path(self.tokenizer) / ARTIFACT_META).read_text())["hash"])
            except (OSError, ValueError, KeyError, TypeError):  # not an artifact (yet): tokenize names the problem
                digest = "unreadable"
            self._file_digests = {"tokenizer_hash": digest}
        return self


class TokenizeStage(Stage):
    name = "tokenize"
    Config = TokenizeConfig
    is_sink = True
    reasons: ClassVar[tuple[str, ...]] = ("tokenize_empty", "tokenize_missing_text")

    def tokenizer_dir(self, ctx: StageContext) -> Path:
        if self.config.tokenizer:
            return Path(self.config.tokenizer)
        from curator.io.run_files import committed_folder

        folder = committed_folder(Path(ctx.run_dir) / self.config.tokenizer_stage)  # the attempt its marker names
        if folder is None:
            raise CuratorError(f"tokenize needs the tokenizer of stage {self.config.tokenizer_stage!r}, which has "
                               f"not completed in {ctx.run_dir}; run it first or set `tokenizer:` to an artifact")
        return folder.path / ARTIFACT_SUBDIR

    def options(self, ctx: StageContext):
        from curator.tokenization.job import TokenizeOptions

        return TokenizeOptions(dtype=self.config.dtype, target_shard_tokens=self.config.target_shard_tokens,
                               num_shards=self.config.num_shards, shuffle_seed=self.config.shuffle_seed,
                               rehydration=self.config.rehydrate, provenance=self.config.provenance,
                               run_record={"run_dir": str(ctx.run_dir), "stage": ctx.stage_name})

    def run_sink(self, df, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
        from curator.spark.tokenize_ops import write_token_shards
        from curator.tokenization.job import tokenize_stats
        from curator.tokenization.tokenizer import read_bundle

        bundle = read_bundle(self.tokenizer_dir(ctx))
        manifest = write_token_shards(df, bundle, out_dir / TOKENS_SUBDIR, self.options(ctx))
        return tokenize_stats(manifest, final_folder(ctx, out_dir) / TOKENS_SUBDIR)

    def run_sink_table(self, table, ctx: StageContext, out_dir: Path) -> dict[str, Any]:
        """:meth:`run_sink` over an Arrow table (a small run in the driver process, :mod:`curator.spark.in_driver`):
        one part per core of the run's local master, as Spark would use."""
        from curator.tokenization.in_process import write_token_shards
        from curator.tokenization.job import tokenize_stats
        from curator.tokenization.tokenizer import read_bundle

        bundle = read_bundle(self.tokenizer_dir(ctx))
        manifest = write_token_shards(table, bundle, out_dir / TOKENS_SUBDIR, self.options(ctx),
                                      ctx.default_parallelism, ctx.map_tasks)
        return tokenize_stats(manifest, final_folder(ctx, out_dir) / TOKENS_SUBDIR)


def final_folder(ctx: StageContext, out_dir: Path) -> Path:
    """Where a sink's output lives once committed: its attempt folder (kept in place), or the stage folder that the
    hidden staging folder is renamed to."""
    from curator.io.run_files import ATTEMPT_PREFIX

    return out_dir if out_dir.name.startswith(ATTEMPT_PREFIX) else Path(ctx.run_dir) / ctx.stage_name
