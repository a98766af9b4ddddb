"""Errors meant for the user: the CLI prints their message without a stack trace."""

from __future__ import annotations

from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from pydantic import ValidationError


class CuratorError(Exception):
    """A user-facing error: bad spec, bad input, a failed invariant."""


class SpecError(CuratorError):
    """A pipeline, filter or tokenizer spec failed validation."""


class LedgerError(CuratorError):
    """input = kept + sum(rejected) does not hold."""


def field_errors(error: "ValidationError", prefix: str = "") -> list[str]:
    """One ``field.path: message`` line per problem of a pydantic ``ValidationError``: errors name the field."""
    return [f"{prefix}{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()]
