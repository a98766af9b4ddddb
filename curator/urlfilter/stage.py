"""url_filter: reject documents whose URL matches a user-supplied block list.

Rules come from files (``domain_files``, ``substring_files``, ``regex_files``; one entry per line, ``#`` comments)
and/or inline lists in the spec. They are read and validated once when the spec is loaded, so a bad regex or a
missing file is a spec error naming the file and line, and the compiled rules travel to Spark workers inside the
config (workers need no copy of the files). The rules' hash is part of the config, so editing a list reruns the
stage instead of resuming a stale result.

Reasons: ``url_blocked`` (``reason_detail`` = the rule, e.g. ``domain:example.com``) and, only with
``on_missing_url: reject``, ``url_missing``.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pyarrow as pa
from pydantic import Field, PrivateAttr, computed_field, field_validator

from curator.document import URL
from curator.stage import BatchStage, StageConfig, finish_batch
from curator.urlfilter.rules import RuleFileError, UrlRules


URL_FILTER_REASONS = ("url_blocked", "url_missing")


def _resolve(path: str) -> str:
    """A rule file path as given (relative to the working directory) or, failing that, relative to the repo root."""
    from curator.specs import REPO_ROOT

    p = Path(path).expanduser()
    if not p.exists() and not p.is_absolute() and (REPO_ROOT / p).exists():
        p = REPO_ROOT / p
    return str(p.resolve())


class UrlFilterConfig(StageConfig):
    domain_files: list[str] = Field(default_factory=list, description="files of blocked domains (and subdomains)")
    substring_files: list[str] = Field(default_factory=list, description="files of case-insensitive URL substrings")
    regex_files: list[str] = Field(default_factory=list, description="files of Python regexes searched in the URL")
    domains: list[str] = Field(default_factory=list, description="blocked domains given inline")
    substrings: list[str] = Field(default_factory=list)
    regexes: list[str] = Field(default_factory=list)
    on_missing_url: Literal["keep", "reject"] = Field("keep", description="documents without a URL: keep, or "
                                                      "reject as url_missing")
    _rules: UrlRules = PrivateAttr()

    @field_validator("domain_files", "substring_files", "regex_files")
    @classmethod
    def _resolve_paths(cls, paths: list[str]) -> list[str]:
        resolved = [_resolve(p) for p in paths]
        missing = [p for p, r in zip(paths, resolved) if not Path(r).is_file()]
        if missing:
            raise ValueError(f"rule file(s) not found: {', '.join(missing)}")
        return resolved

    def model_post_init(self, __context) -> None:
        try:
            rules = UrlRules.load(domain_files=self.domain_files, substring_files=self.substring_files,
                                  regex_files=self.regex_files, domains=self.domains, substrings=self.substrings,
                                  regexes=self.regexes)
        except RuleFileError as e:
            raise ValueError(str(e)) from None
        if not len(rules):
            raise ValueError("no rules: give domain_files, substring_files, regex_files or inline domains/"
                             "substrings/regexes")
        self._rules = rules

    @computed_field
    @property
    def rules_sha256(self) -> str:
        return self._rules.digest()

    @property
    def rules(self) -> UrlRules:
        return self._rules


class UrlFilterStage(BatchStage):
    name = "url_filter"
    Config = UrlFilterConfig
    reasons: ClassVar[tuple[str, ...]] = URL_FILTER_REASONS

    def process_batch(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        rules = self.config.rules
        reject_missing = self.config.on_missing_url == "reject"
        reasons, details = [], []
        for url in batch.column(URL).to_pylist():
            if not url or not url.strip():
                reasons.append("url_missing" if reject_missing else None)
                details.append("document has no URL" if reject_missing else None)
                continue
            rule = rules.match(url)
            reasons.append("url_blocked" if rule else None)
            details.append(rule)
        return finish_batch(batch, {}, reasons, details)
