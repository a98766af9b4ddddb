"""Atomic folder writes: the old folder or the complete new one, never a mix, and no staging left behind."""

from __future__ import annotations

import pytest

from curator.atomic import atomic_folder, remove_stale_staging


def test_success_replaces_the_folder_as_a_whole(tmp_path):
    final = tmp_path / "out"
    (final).mkdir()
    (final / "old.txt").write_text("old")
    with atomic_folder(final) as staging:
        assert not staging.exists() and staging.parent == tmp_path and staging.name.startswith(".out.tmp-")
        staging.mkdir()
        (staging / "new.txt").write_text("new")
        assert (final / "old.txt").exists()  # untouched until the block succeeds
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_leaves_the_old_folder_and_no_staging(tmp_path):
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_folder(final) as staging:
            staging.mkdir()
            (staging / "half.txt").write_text("half")
            raise RuntimeError("writer died")
    assert sorted(p.name for p in final.iterdir()) == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_stale_staging_of_killed_writers_is_removed(tmp_path):
    (tmp_path / ".out.tmp-deadbeef").mkdir()
    (tmp_path / ".other.tmp-deadbeef").mkdir()
    remove_stale_staging(tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == [".other.tmp-deadbeef"]
