"""URL block rules: domains (matched with all their parent domains), substrings and regular expressions.

Rule files hold one entry per line; blank lines and lines starting with ``#`` are ignored, and in domain files a
trailing ``  # comment`` too (substring and regex rules may contain ``#`` themselves). Checking a URL costs one set
lookup per label of its host (``a.b.example.com`` tries itself, ``b.example.com``, ``example.com``, ``com``) plus
one search with a single compiled regex for all substrings and one for all patterns.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class RuleFileError(ValueError):
    """A rule file is missing or holds an invalid entry; the message names the file and line."""


def normalize_domain(entry: str) -> str:
    """``*.Example.COM.``, ``.example.com``, ``https://example.com/x`` -> ``example.com`` (IDNs to punycode)."""
    entry = entry.strip().lower()
    if "://" in entry:
        entry = urlsplit(entry).hostname or ""
    entry = entry.lstrip("*").strip(".")
    if not entry.isascii():
        try:
            entry = entry.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # keep the Unicode form: it still matches hosts that fail IDNA the same way
    return entry


def url_host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:  # e.g. an unbalanced IPv6 bracket: no host, substrings and regexes still apply
        return None
    return normalize_domain(host) if host else None


def read_rule_file(path: str | Path, *, inline_comments: bool) -> list[tuple[str, int]]:
    """Entries of a rule file as ``(entry, line number)``."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise RuleFileError(f"cannot read rule file {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise RuleFileError(f"rule file {path} is not UTF-8: {e}") from None
    entries = []
    for number, line in enumerate(lines, 1):
        if inline_comments:
            line = re.split(r"\s#", line, maxsplit=1)[0]
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append((line, number))
    return entries


@dataclass
class UrlRules:
    """Compiled block rules. Build with :meth:`load`; ask with :meth:`match`."""

    domains: frozenset[str] = frozenset()
    substrings: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    _substring_re: re.Pattern | None = field(default=None, repr=False)
    _pattern_re: re.Pattern | None = field(default=None, repr=False)
    _compiled_patterns: tuple[re.Pattern, ...] = field(default=(), repr=False)

    def __post_init__(self):
        if self.substrings:
            # Longest first so the reported rule is the most specific one that matched at that position.
            ordered = sorted(set(self.substrings), key=len, reverse=True)
            self._substring_re = re.compile("|".join(re.escape(s) for s in ordered))
        if self.patterns:
            self._compiled_patterns = tuple(re.compile(p) for p in self.patterns)
            self._pattern_re = re.compile("|".join(f"(?:{p})" for p in self.patterns))

    @classmethod
    def load(cls, *, domain_files=(), substring_files=(), regex_files=(), domains=(), substrings=(),
             regexes=()) -> "UrlRules":
        """Read and validate every rule; raise :class:`RuleFileError` naming the file and line of a bad one."""
        all_domains = {normalize_domain(d) for d in domains}
        for path in domain_files:
            for entry, number in read_rule_file(path, inline_comments=True):
                domain = normalize_domain(entry)
                if not domain or any(c.isspace() or c == "/" for c in domain):
                    raise RuleFileError(f"{path}:{number}: not a domain: {entry!r}")
                all_domains.add(domain)
        all_substrings = [s.lower() for s in substrings]
        for path in substring_files:
            all_substrings.extend(entry.lower() for entry, _ in read_rule_file(path, inline_comments=False))
        all_patterns = [(p, "regexes") for p in regexes]
        for path in regex_files:
            all_patterns.extend((entry, f"{path}:{number}") for entry, number in
                                read_rule_file(path, inline_comments=False))
        for pattern, where in all_patterns:
            try:
                re.compile(pattern)
            except re.error as e:
                raise RuleFileError(f"{where}: invalid regex {pattern!r}: {e}") from None
            if pattern.lstrip().startswith("(?") and re.match(r"\(\?[aiLmsux]+\)", pattern):
                raise RuleFileError(f"{where}: global flags like (?i) only work alone; write a scoped group "
                                    f"(?i:...) in {pattern!r}")
        all_domains.discard("")
        return cls(frozenset(all_domains), tuple(s for s in all_substrings if s), tuple(p for p, _ in all_patterns))

    def __len__(self) -> int:
        return len(self.domains) + len(self.substrings) + len(self.patterns)

    def digest(self) -> str:
        """Hash of the rules: part of the stage fingerprint, so editing a list reruns the stage."""
        h = hashlib.sha256()
        for kind, values in (("d", sorted(self.domains)), ("s", sorted(self.substrings)), ("r", self.patterns)):
            h.update(("\x00".join([kind, *values]) + "\x01").encode())
        return h.hexdigest()[:16]

    def match(self, url: str) -> str | None:
        """The rule that blocks ``url`` (``domain:example.com``, ``substring:...``, ``regex:...``), or None."""
        if self.domains:
            host = url_host(url)
            if host:
                labels = host.split(".")
                for i in range(len(labels)):
                    candidate = ".".join(labels[i:])
                    if candidate in self.domains:
                        return f"domain:{candidate}"
        if self._substring_re is not None:
            found = self._substring_re.search(url.lower())
            if found:
                return f"substring:{found.group(0)}"
        if self._pattern_re is not None and self._pattern_re.search(url):
            for pattern, compiled in zip(self.patterns, self._compiled_patterns):
                if compiled.search(url):
                    return f"regex:{pattern}"
        return None
