"""Errors meant for the user: the CLI prints their message without a stack trace."""


class CuratorError(Exception):
    """A user-facing error: bad spec, bad input, a failed invariant."""


class SpecError(CuratorError):
    """A pipeline, filter or tokenizer spec failed validation."""


class LedgerError(CuratorError):
    """input = kept + sum(rejected) does not hold."""
