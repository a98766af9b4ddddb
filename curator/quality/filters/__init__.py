"""Quality rule families: one module per family, registered here by name.

A pipeline spec or ``filters/<name>.yaml`` names a family with its ``family`` key: a name of :data:`FILTERS`, or
``package.module:ClassName`` for a family defined outside curator (a plugin, a test fixture). To add a family, write
one :class:`~curator.quality.filters.base.QualityFilter` subclass in its own module, add its line here and a YAML
with its defaults to ``filters/`` (see CONTRIBUTING.md).
"""

from __future__ import annotations

import importlib

from curator.quality.filters.base import FamilyResult, QualityFilter


FILTERS: dict[str, str] = {
    "gopher_quality": "curator.quality.filters.gopher_quality:GopherQualityFilter",
    "gopher_repetition": "curator.quality.filters.gopher_repetition:GopherRepetitionFilter",
    "c4": "curator.quality.filters.c4:C4Filter",
    "fineweb": "curator.quality.filters.fineweb:FineWebFilter",
}


def filter_class(family: str) -> type[QualityFilter]:
    """The class of a family given by registered name or ``module:Class`` import path."""
    target = FILTERS.get(family, family)
    if ":" not in target:
        raise ValueError(f"unknown filter family {family!r}; known: {', '.join(FILTERS)} (or 'module:Class')")
    module_name, class_name = target.split(":", 1)
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"filter family {family!r} cannot be imported: {e}") from None
    if not (isinstance(cls, type) and issubclass(cls, QualityFilter)):
        raise ValueError(f"filter family {family!r} is not a QualityFilter subclass")
    return cls


def build_filter(entry: dict) -> QualityFilter:
    """Validate one filter mapping (with its ``family`` key) into its family's class."""
    if "family" not in entry:
        raise ValueError(f"a filter needs a 'family' key, got keys {sorted(entry)}")
    return filter_class(entry["family"]).model_validate(entry)


def builtin_reasons() -> tuple[str, ...]:
    """Every reason the registered families declare, in registry order."""
    return tuple(r for name in FILTERS for r in filter_class(name).reasons)


__all__ = ["FILTERS", "FamilyResult", "QualityFilter", "build_filter", "builtin_reasons", "filter_class"]
