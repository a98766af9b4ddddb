"""Typed pipeline specs loaded from ``pipelines/*.yaml`` and validated once, on the driver.

Errors name the bad field (``stages[2] (quality).max_symbol_word_ratio: ...``). Only the validated, frozen configs
travel to Spark executors, never the YAML files, so workers need no repository checkout.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from curator.config import StrictConfig as _Strict
from curator.errors import SpecError, field_errors
from curator.registry import stage_class


REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_INPUT = "builtin:sample"


class InputSpec(_Strict):
    paths: list[str] = Field(min_length=1, description="files, folders or globs; 'builtin:sample' = embedded corpus")
    format: Literal["auto", "jsonl", "jsonl.zst", "parquet", "warc"] = "auto"
    text_field: str = "text"
    id_field: str | None = "id"
    url_field: str | None = "url"
    source: str | None = Field(None, description="value of the `source` column; default: the input file's name")
    split_bytes: int = Field(128 * 1024 * 1024, ge=1, description="uncompressed JSONL and Parquet files larger than "
                             "this are read by several tasks (line-aligned byte ranges; Parquet row groups)")

    @field_validator("paths")
    @classmethod
    def _readable_schemes(cls, paths: list[str]) -> list[str]:
        from curator.io.filesystem import check_scheme

        for i, path in enumerate(paths):
            if path != SAMPLE_INPUT:
                try:
                    check_scheme(path, "input")
                except Exception as error:
                    raise ValueError(f"[{i}]: {error}") from None
        return paths


# The master URL forms Spark accepts (https://spark.apache.org/docs/latest/submitting-applications.html#master-urls).
_SPARK_MASTER = re.compile(
    r"local(\[(\*|[1-9]\d*)(,\s*[1-9]\d*)?\])?|local-cluster\[\d+,\s*\d+,\s*\d+\]|(spark|mesos|k8s)://\S+|yarn"
)


def check_spark_master(master: str, field: str = "spark.master") -> str:
    """``master`` if Spark would accept its form; a :class:`SpecError` naming ``field`` otherwise."""
    if not _SPARK_MASTER.fullmatch(master.strip()):
        raise SpecError(f"{field}: {master!r} is not a Spark master URL (use local, local[N], local[*], "
                        "spark://HOST:PORT, yarn or k8s://...)")
    return master.strip()


class SparkSpec(_Strict):
    master: str = "local[*]"
    app_name: str = "curator"
    conf: dict[str, str | int | float | bool] = Field(default_factory=dict)
    fuse_stages: bool = Field(
        True, description="run consecutive per-document stages (langid, quality, pii, ...) as one Spark pass; each "
                          "still writes its own rejected rows, stats and marker. false: one pass per stage")
    driver_max_documents: int = Field(
        50_000, ge=0,
        description="on a local master with a local output root, a per-document stage or fused segment whose input "
                    "has at most this many documents runs in the driver engine (pyarrow, one worker process per core "
                    "of the master) instead of as Spark jobs: same outputs and stats, without Spark's start-up and "
                    "JVM round trips; the driver holds the segment's rows in memory, hence the bound. 0: never")
    driver_max_documents_global: int = Field(
        20_000, ge=0,
        description="the same for dedup and line_dedup, whose Spark path shuffles and materialises tables around "
                    "the grouping that their driver path does alone (dedup's in-process grouping collects to the "
                    "driver below in_process_max_documents anyway). 0: never")
    driver_max_input_bytes: int = Field(
        256_000_000, ge=0,
        description="likewise for ingest: local input files of at most this many bytes in all are read in the "
                    "driver process (parsing is cheap; a Spark job's start is not). A compressed or Parquet file counts five "
                    "times its size, a WARC file (HTML extraction) twenty times. 0: never")

    DRIVER_LIMITS: ClassVar[tuple[str, ...]] = ("driver_max_documents", "driver_max_documents_global",
                                                "driver_max_input_bytes")

    def spark_only(self) -> "SparkSpec":
        """This spec with every stage as Spark jobs: no computation in the driver process, whatever its size."""
        return self.model_copy(update=dict.fromkeys(self.DRIVER_LIMITS, 0))

    @field_validator("master")
    @classmethod
    def _master_url(cls, value: str) -> str:
        try:
            return check_spark_master(value)
        except SpecError as error:
            raise ValueError(str(error).split(": ", 1)[1]) from None


class AirflowSpec(_Strict):
    enabled: bool = False
    schedule: str | None = None
    train: bool = Field(False, description="append a training task that calls the launch script")
    train_config: str | None = None


class StageSpec(_Strict):
    stage: str
    name: str
    config: Any

    def build(self):
        return stage_class(self.stage)(self.config)

    @property
    def is_sink(self) -> bool:
        return stage_class(self.stage).is_sink

    def fingerprint(self) -> str:
        payload = json.dumps({"stage": self.stage, "config": self.config.model_dump(mode="json")}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


class PipelineSpec(_Strict):
    name: str
    description: str = ""
    input: InputSpec
    output: str | None = Field(None, description="output root; default runs/<name>")
    spark: SparkSpec = Field(default_factory=SparkSpec)
    stages: list[StageSpec] = Field(min_length=1)
    airflow: AirflowSpec = Field(default_factory=AirflowSpec)
    allow_empty_output: bool = Field(False, description="let a document stage keep 0 of a non-empty input without "
                                                       "failing the run")
    source_path: str | None = None

    @field_validator("output")
    @classmethod
    def _writable_scheme(cls, output: str | None) -> str | None:
        if output is not None:
            check_output(output)
        return output

    @field_validator("stages", mode="before")
    @classmethod
    def _parse_stages(cls, raw):
        if not isinstance(raw, list):
            raise ValueError("must be a list of {stage: NAME, ...options}")
        parsed, errors = [], []
        for i, entry in enumerate(raw):
            if isinstance(entry, str):
                entry = {"stage": entry}
            if not isinstance(entry, dict) or "stage" not in entry:
                errors.append(f"stages[{i}]: each entry needs a 'stage' key, got {entry!r}")
                continue
            options = dict(entry)
            kind = options.pop("stage")
            name = options.pop("name", kind)
            try:
                config = stage_class(kind).Config.model_validate(options)
            except SpecError as e:
                errors.append(f"stages[{i}]: {e}")
                continue
            except ValidationError as e:
                errors.extend(field_errors(e, prefix=f"stages[{i}] ({name})."))
                continue
            parsed.append(StageSpec(stage=kind, name=name, config=config))
        if errors:
            raise ValueError("; ".join(errors))
        return parsed

    @model_validator(mode="after")
    def _check_order(self):
        names = [s.name for s in self.stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"stage names must be unique; repeated: {duplicates} (give one a 'name:')")
        if self.stages[0].stage != "ingest":
            raise ValueError("the first stage must be 'ingest'")
        for i, s in enumerate(self.stages):
            earlier = {t.stage for t in self.stages[:i]}
            if s.stage == "quality" and "langid" not in earlier and getattr(s.config, "language", None) is None:
                raise ValueError(f"stages[{i}] ({s.name}).language: quality runs before any langid stage, so set "
                                 "the documents' language explicitly (e.g. 'language: en') or add langid first")
        seen_sink = False
        for s in self.stages:
            if seen_sink and not s.is_sink:
                raise ValueError(f"document stage {s.name!r} cannot follow a sink stage")
            seen_sink = seen_sink or s.is_sink
        return self

    def stage(self, name: str) -> StageSpec:
        for s in self.stages:
            if s.name == name:
                return s
        raise SpecError(f"pipeline {self.name!r} has no stage {name!r}; stages: {', '.join(self.stage_names)}")

    @property
    def stage_names(self) -> list[str]:
        return [s.name for s in self.stages]

    def output_root(self, override: str | None = None):
        """The run's output root as a :class:`curator.io.filesystem.Location` (a plain path and ``file://`` are the
        same local folder); a scheme curator cannot write, or a sink stage on an object store, is a one-line
        :class:`SpecError`."""
        from curator.io.filesystem import Location, is_local

        where = override or self.output or f"runs/{self.name}"
        try:
            check_output(where, "--output" if override else "output")
        except ValueError as error:
            raise SpecError(str(error)) from None
        if not is_local(where):
            sinks = [s.name for s in self.stages if s.is_sink]
            if sinks:
                raise SpecError(f"output {where}: stages {', '.join(sinks)} write tokenizer and token files with "
                                "local file APIs and need a local or mounted output root for now; write the run to "
                                "a local/NFS path, or drop those stages and tokenize separately")
        return Location(where)


def check_output(where: str, what: str = "output") -> None:
    """ValueError (one line) when ``where`` names a scheme curator cannot write from this machine."""
    from curator.io.filesystem import check_scheme

    try:
        check_scheme(where, what)
    except Exception as error:
        raise ValueError(str(error)) from None


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SpecError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at the top level")
    return data


def load_pipeline(path: str | Path) -> PipelineSpec:
    """Load and validate a pipeline spec; raise :class:`SpecError` naming every bad field."""
    data = load_yaml(path)
    data.setdefault("source_path", str(Path(path).resolve()))
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as e:
        lines = field_errors(e)
        if len(lines) == 1:  # the common case reads as one line
            raise SpecError(f"{path}: invalid pipeline spec: {lines[0]}") from None
        raise SpecError(f"{path}: invalid pipeline spec:\n  " + "\n  ".join(lines)) from None


def resolve_spec_file(name_or_path: str, folder: str, suffix: str = ".yaml") -> Path:
    """A spec given by path, or by bare name inside one of the repository's spec folders (filters/, tokenizers/)."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    candidate = REPO_ROOT / folder / f"{name_or_path}{suffix}"
    if candidate.exists():
        return candidate
    raise SpecError(f"no {folder} spec {name_or_path!r} (looked for {p} and {candidate})")
