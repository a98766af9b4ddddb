"""Trainer guard rails from issue #11, on small generated token shards (no shared data needed): damaged
checkpoints, damaged or foreign token ids, schedule changes on resume, and runs that would overwrite another run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from curator.errors import CuratorError
from curator.tokenization.manifest import ManifestError
from curator.trainer.config import build_config
from curator.trainer.data import DataError, TokenSource
from curator.trainer.loop import Trainer, TrainingError, train
from tests.trainer.conftest import write_token_folder


VOCAB = 200


@pytest.fixture
def tokens(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    documents = [list(rng.integers(1, VOCAB, size=int(rng.integers(20, 60)))) + [0] for _ in range(80)]
    return write_token_folder(tmp_path / "tokens", documents, vocab_size=VOCAB, eod_id=0, tokenizer_hash="h" * 64)


def config(tokens: Path, out: Path, **top):
    raw = {"model": {"preset": "debug"}, "data": {"folders": [str(tokens)], "val_fraction": 0.0},
           "optim": {"lr": 3e-3, "warmup_steps": 2}, "seq_len": 16, "micro_batch_size": 4, "global_batch_size": 4,
           "max_steps": 6, "log_every": 1, "eval_samples": 0, "output_dir": str(out),
           "checkpoint": {"every": 1, "keep_last": 5}}
    for key, value in top.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and isinstance(raw.get(key), dict) else value
    return build_config(raw)


def log_records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_resume_falls_back_from_a_truncated_checkpoint_and_logs_no_step_twice(tokens, tmp_path):
    out = tmp_path / "run"
    straight = train(config(tokens, tmp_path / "straight"))
    train(config(tokens, out), stop_after=3)
    newest = out / "checkpoints" / "step_00000003.pt"
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 3])  # a full disk, a partial copy

    resumed = train(config(tokens, out), resume=True)  # before: CheckpointError "is not readable"
    assert sorted(resumed.losses) == [2, 3, 4, 5]
    for step in resumed.losses:
        assert resumed.losses[step] == pytest.approx(straight.losses[step], rel=1e-6)
    records = log_records(out)
    fallback = [r for r in records if r["event"] == "resume_fallback"]
    assert len(fallback) == 1
    assert "step_00000003.pt is not readable" in fallback[0]["note"] and "step_00000002.pt" in fallback[0]["note"]
    assert [r["step"] for r in records if r["event"] == "train"] == [1, 2, 3, 4, 5, 6]
    assert next(r for r in records if r["event"] == "resume")["dropped_log_records"] == 2  # step 3 and "stopped"


def test_no_intact_checkpoint_is_a_clear_error(tokens, tmp_path):
    out = tmp_path / "run"
    train(config(tokens, out, checkpoint={"every": 0}), stop_after=2)
    (out / "checkpoints" / "step_00000002.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CuratorError, match="no intact checkpoint in .*step_00000002.pt is not readable"):
        Trainer(config(tokens, out), resume=True)


def test_token_id_outside_the_vocabulary_is_a_data_error_naming_the_shard(tmp_path):
    documents = [[5, 6, 7, 0]] * 20 + [[5, VOCAB + 40, 7, 0]] + [[8, 9, 0]] * 20
    folder = write_token_folder(tmp_path / "t", documents, vocab_size=VOCAB, eod_id=0, tokenizer_hash="h" * 64)
    with pytest.raises(DataError, match=f"part-00000: token id {VOCAB + 40} at token 81 is outside the {VOCAB}-token"):
        TokenSource(folder)  # before: an IndexError from the embedding at the first batch that held it


def test_flipped_byte_is_caught_by_the_default_checksum_check(tokens, tmp_path):
    shard = tokens / "part-00001.bin"
    data = bytearray(shard.read_bytes())
    data[100] ^= 0x01  # stays a valid id: only the checksum can tell
    shard.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match="part-00001.bin does not match its sha256"):
        Trainer(config(tokens, tmp_path / "run"))
    # The opt-out for very large data skips the hash (the id range is still checked).
    trainer = Trainer(config(tokens, tmp_path / "run", data={"verify_checksums": False}))
    assert trainer.data.tokenizer.vocab_size == VOCAB


def test_resume_with_another_schedule_is_refused_unless_allowed(tokens, tmp_path):
    out = tmp_path / "run"
    train(config(tokens, out, max_steps=4))  # the README's old sequence: max_steps=60, then --resume with 200
    with pytest.raises(TrainingError, match=r"decay_steps 4 -> 8\); resuming would move the learning rate at step 4"):
        Trainer(config(tokens, out, max_steps=8), resume=True)
    resumed = train(config(tokens, out, max_steps=8), resume=True, allow_schedule_change=True)
    assert sorted(resumed.losses) == [4, 5, 6, 7]
    again = train(config(tokens, out, max_steps=8), resume=True)  # finished: nothing to do, nothing logged twice
    assert again.losses == {} and again.last_checkpoint.name == "step_00000008.pt"
    steps = [(r["event"], r["step"]) for r in log_records(out) if r["event"] in ("train", "val")]
    assert len(steps) == len(set(steps))


def test_new_run_refuses_a_folder_holding_a_run_unless_overwrite(tokens, tmp_path):
    out = tmp_path / "run"
    train(config(tokens, out, max_steps=3))
    before = (out / "metrics.jsonl").read_text()
    with pytest.raises(TrainingError, match="already holds a run .* pass --resume .* --overwrite"):
        Trainer(config(tokens, out, max_steps=3))
    assert (out / "metrics.jsonl").read_text() == before
    assert len(list((out / "checkpoints").glob("step_*.pt"))) == 3

    train(config(tokens, out, max_steps=2, checkpoint={"every": 0}), overwrite=True)
    assert [p.name for p in (out / "checkpoints").glob("step_*.pt")] == ["step_00000002.pt"]
    assert [r["step"] for r in log_records(out) if r["event"] == "train"] == [1, 2]


def test_cli_flags_for_the_guard_rails(tokens, tmp_path, capsys):
    import yaml

    from curator.cli import main

    out = tmp_path / "run"
    raw = json.loads(config(tokens, out, max_steps=2).model_dump_json())
    config_path = tmp_path / "cfg.yaml"
    config_path.write_text(yaml.safe_dump(raw))
    main(["train", str(config_path)])
    with pytest.raises(SystemExit) as refused:
        main(["train", str(config_path)])
    assert refused.value.code == 1 and "already holds a run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as schedule:
        main(["train", str(config_path), "max_steps=4", "--resume"])
    assert schedule.value.code == 1 and "--allow-schedule-change" in " ".join(capsys.readouterr().err.split())
    main(["train", str(config_path), "max_steps=4", "--resume", "--allow-schedule-change"])
    main(["train", str(config_path), "--overwrite"])
    assert [r["step"] for r in log_records(out) if r["event"] == "train"] == [1, 2]
