"""Atomic folder and file writes: build under a hidden temporary sibling name, rename into place when complete.

Readers see the old folder or the complete new one, never a half-written one; a crash leaves only a hidden
``.<name>.tmp-*`` sibling, which is never mistaken for output (and :func:`remove_stale_staging` clears).
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator


def staging_path(final: Path) -> Path:
    """A fresh hidden sibling of ``final`` (not created: Spark writers want to create their folder)."""
    return final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}")


def remove_stale_staging(final: Path) -> None:
    """Delete the staging folders that killed writers of ``final`` left behind."""
    for stale in final.parent.glob(f".{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def atomic_folder(final: str | Path) -> Iterator[Path]:
    """Yield a staging path for ``final``; when the block succeeds it replaces ``final`` in one rename, when it
    raises the staging folder is removed and ``final`` is untouched."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(final)
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_file(final: str | Path, mode: str = "w") -> Iterator[IO]:
    """Yield a handle (opened with ``mode``) on a staging file for ``final``; when the block succeeds the data is
    fsynced and replaces ``final`` in one rename, when it raises the staging file is removed and ``final`` is
    untouched. Readers see the old file or the whole new one, never a torn one."""
    final = Path(final)
    staging = staging_path(final)
    try:
        with open(staging, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(staging, final)
    finally:
        staging.unlink(missing_ok=True)


__all__ = ["atomic_file", "atomic_folder", "remove_stale_staging", "staging_path"]
