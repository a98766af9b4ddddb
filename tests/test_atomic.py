"""Atomic folder and file writes: the old one or the complete new one, never a mix, and no staging left behind."""

from __future__ import annotations

import pytest

from curator.atomic import atomic_file, atomic_folder, remove_stale_staging


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


def test_file_success_replaces_the_file_in_one_rename(tmp_path):
    final = tmp_path / "state.bin"
    final.write_bytes(b"old")
    with atomic_file(final, "wb") as handle:
        handle.write(b"new")
        assert final.read_bytes() == b"old"  # untouched until the block succeeds
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".state.bin.tmp-")]
    assert final.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["state.bin"]


def test_file_failure_leaves_the_old_file_and_no_staging(tmp_path):
    final = tmp_path / "state.txt"
    final.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(final) as handle:
            handle.write("half")
            raise RuntimeError("writer died")
    assert final.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["state.txt"]
