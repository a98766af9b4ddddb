"""Atomic folder writes: build a folder under a hidden temporary sibling name, rename it into place when complete.

Readers see the old folder or the complete new one, never a half-written one; a crash leaves only a hidden
``.<name>.tmp-*`` sibling, which is never mistaken for output (and :func:`remove_stale_staging` clears).
"""

from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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


__all__ = ["atomic_folder", "remove_stale_staging", "staging_path"]
