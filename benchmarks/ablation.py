"""Does curation lower loss? Train the same small GPT on raw and on curated tokens and compare held-out loss.

One raw corpus is mixed from ``../shared/data``: web pages as WET-like text (boilerplate kept), SpamAssassin mail
(spam included, full headers), Python documentation (reST with code), and public-domain prose (State of the Union
speeches before 1980, Moby-Dick chapters 1-100), plus planted near-duplicates of a sixth of the web/mail/doc records.
It runs once through the stages of ``pipelines/web_en.yaml`` (Spark local mode), with that spec's quality stage split
in two (rules, then the classifier) so that four token sets come out of one run:

    raw                ingest only
    rules              + every stage up to and including the heuristic quality rules (langid, rules)
    rules_classifier   + the quality classifier / calibrated quality score (whichever web_en.yaml configures)
    full               + everything after it in web_en.yaml (dedup, pii, ...)

All four are tokenized with one BPE tokenizer trained on a sample of the raw corpus. Each variant trains the same
model (``--preset``) with the same seeds, schedule and number of training tokens (no variant repeats data: the
budget is capped by the smallest set). Evaluation is on text no variant saw: State of the Union speeches from 1990
on, Moby-Dick chapters 111 on, and Botchan (a public-domain novel that is nowhere in the training mix).

    python benchmarks/ablation.py --out runs/ablation            # CPU, debug preset, 3 seeds (40 min on 2 busy cores)
    python benchmarks/ablation.py --out runs/ablation --steps 400 --batch 16 --micro-batch 16   # 6.7x the tokens
    python benchmarks/ablation.py --out runs/ablation --preset 124m --device cuda --steps 2000 --seq-len 512 --batch 32

Writes ``ablation.md`` (the table), ``ablation.json`` and ``loss_curves.png`` into ``--out``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import yaml


REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
VARIANTS = ("raw", "rules", "rules_classifier", "full")


# -- corpus ----------------------------------------------------------------------------------------------------


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _light_edit(text: str, rng: random.Random) -> str:
    """A near-duplicate: a few words dropped or swapped, as re-posted and templated pages differ."""
    words = text.split(" ")
    for _ in range(max(1, len(words) // 200)):
        i = rng.randrange(len(words))
        if rng.random() < 0.5:
            del words[i]
        else:
            words[i] = words[rng.randrange(len(words))]
        if len(words) < 3:
            break
    return " ".join(words)


def build_corpus(shared: Path, max_mail: int, seed: int) -> tuple[list[dict], dict[str, list[str]]]:
    """The raw training records and the held-out texts by set name."""
    rng = random.Random(seed)
    records: list[dict] = []

    def add(source: str, key: str, text: str, url: str | None = None) -> None:
        if text and text.strip():
            records.append({"id": f"{source}-{key}", "text": text, "source": source, "url": url})

    for i, page in enumerate(_jsonl(shared / "trafilatura-eval" / "trafilatura_wetlike.jsonl.gz")):
        add("web", str(i), page["text"], page.get("url"))
    mails = _jsonl(shared / "spamassassin" / "spamassassin.jsonl.gz")
    rng.shuffle(mails)
    for i, mail in enumerate(mails[:max_mail]):  # the corpus' own ids repeat across its groups
        add("mail", f"{mail.get('group', 'mail')}-{i}", mail["text"])
    for doc in _jsonl(shared / "python-3.11-docs-rst" / "python-3.11-docs.jsonl.gz"):
        add("docs", doc["path"], doc["text"])
    speeches = _jsonl(shared / "stdlib-sotu" / "sotu.jsonl")
    for speech in speeches:
        if int(speech["year"]) < 1980:
            add("speech", f"{speech['year']}-{speech['name']}", speech["text"])
    chapters = _jsonl(shared / "stdlib-moby-dick" / "moby_dick.jsonl")
    for i, chapter in enumerate(chapters[:103]):  # contents, etymology, extracts, chapters 1-100
        add("book", str(i), chapter["text"])

    plantable = [r for r in records if r["source"] in ("web", "mail", "docs")]
    for original in rng.sample(plantable, len(plantable) // 6):
        for copy in range(rng.randint(1, 3)):
            records.append({**original, "id": f"{original['id']}-dup{copy}",
                            "text": _light_edit(original["text"], rng)})
    rng.shuffle(records)

    held_out = {
        "sotu_1990_on": [s["text"] for s in speeches if int(s["year"]) >= 1990],
        "moby_dick_111_on": [c["text"] for c in chapters[113:]],
        "botchan": [(shared / "sentencepiece-data" / "botchan.txt").read_text(encoding="utf-8")],
    }
    return records, held_out


# -- pipeline ----------------------------------------------------------------------------------------------------


def ablation_spec(corpus: Path, output: Path) -> tuple[dict, dict[str, str]]:
    """web_en.yaml's document stages on ``corpus`` with its quality stage split into rules and classifier, and the
    stage whose kept output each variant trains on."""
    base = yaml.safe_load((REPO / "pipelines" / "web_en.yaml").read_text())
    stages, cut = [], {}
    for entry in base["stages"]:
        kind = entry["stage"]
        if kind in ("train_tokenizer", "tokenize"):
            continue
        if kind == "quality":
            # the second half: the classifier and/or the calibrated score (web_en uses the score since #16)
            judges = {k: v for k, v in entry.items() if k in ("classifier", "score")}
            rules = {k: v for k, v in entry.items() if k not in judges}
            stages.append({**rules, "name": "quality_rules"})
            cut["rules"] = "quality_rules"
            if judges:
                stages.append({"stage": "quality", "name": "quality_classifier", "filters": [], **judges})
                cut["rules_classifier"] = "quality_classifier"
            continue
        stages.append(dict(entry))
    cut["raw"] = stages[0].get("name", stages[0]["stage"])
    cut["full"] = stages[-1].get("name", stages[-1]["stage"])
    spec = {"name": "ablation", "input": {"paths": [str(corpus)], "id_field": "id", "url_field": "url"},
            "output": str(output), "spark": {"master": "local[2]", "conf": {"spark.sql.shuffle.partitions": 8},
                                        # each variant tokenizes one stage's kept documents: keep every data folder
                                        "fuse_stages": False},
            "stages": stages}
    return spec, cut


# -- training and evaluation -----------------------------------------------------------------------------------


def held_out_windows(tokenizer, texts: list[str], seq_len: int, max_windows: int) -> np.ndarray:
    ids: list[int] = []
    for encoded in tokenizer.encode_batch(texts):
        ids.extend(encoded)
        ids.append(tokenizer.eod_id)
    stream = np.asarray(ids, dtype=np.int64)
    count = min(max_windows, (len(stream) - 1) // seq_len)
    starts = np.linspace(0, len(stream) - seq_len - 1, count).astype(np.int64)
    return np.stack([stream[s:s + seq_len + 1] for s in starts])


def evaluate(trainer, windows: np.ndarray, batch_size: int) -> float:
    import torch

    trainer.runner.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for begin in range(0, len(windows), batch_size):
            chunk = torch.from_numpy(windows[begin:begin + batch_size])
            inputs, targets = chunk[:, :-1].to(trainer.device), chunk[:, 1:].to(trainer.device)
            with trainer.autocast():
                total += float(trainer.runner(inputs, targets).float()) * len(chunk)
            count += len(chunk)
    trainer.runner.train()
    return total / count


def train_variant(folder: Path, out: Path, args, seed: int, steps: int, windows: dict[str, np.ndarray]):
    """Train one variant; the trainer's periodic evaluation measures the held-out sets (their mean is what the
    trainer logs as ``val``), so the loss curve is on text no variant saw."""
    from curator.trainer.config import build_config
    from curator.trainer.loop import Trainer

    class HeldOutTrainer(Trainer):
        curve: list[dict[str, float]]

        def evaluate(self) -> float:
            losses = {name: evaluate(self, w, args.micro_batch) for name, w in windows.items()}
            self.curve.append(losses)
            return statistics.fmean(losses.values())

    cfg = build_config({
        "model": {"preset": args.preset}, "data": {"folders": [str(folder)], "val_fraction": 0.01},
        "optim": {"lr": args.lr, "warmup_steps": max(1, steps // 20)}, "seq_len": args.seq_len,
        "micro_batch_size": args.micro_batch, "global_batch_size": args.batch, "max_steps": steps,
        "eval_every": max(1, steps // 10), "log_every": max(1, steps // 20), "eval_samples": args.micro_batch,
        "output_dir": str(out), "device": args.device, "seed": seed, "checkpoint": {"save_final": False},
    })
    trainer = HeldOutTrainer(cfg)
    trainer.curve = []
    result = trainer.fit()
    return trainer.curve[-1], result


# -- main ------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--max-mail", type=int, default=3000)
    parser.add_argument("--preset", default="debug")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=120, help="optimizer steps (capped so no variant repeats data)")
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--eval-windows", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        print(f"ablation needs the shared data folder ({args.shared}); pass --shared", file=sys.stderr)
        return 2

    import torch

    from curator.spark.runner import PipelineRunner
    from curator.spark.tokenize_ops import tokenize_to_folder
    from curator.specs import PipelineSpec
    from curator.tokenization.job import TokenizeOptions
    from curator.tokenization.recipe import load_recipe
    from curator.tokenization.tokenizer import load_tokenizer
    from curator.tokenization.train import train_from_texts, write_artifact

    torch.set_num_threads(args.threads)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    records, held_out = build_corpus(args.shared, args.max_mail, seed=0)
    corpus = out / "corpus" / "raw.jsonl"
    corpus.parent.mkdir(exist_ok=True)
    with open(corpus, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"corpus: {len(records)} records, {corpus.stat().st_size / 1e6:.1f} MB", flush=True)

    raw_spec, cut = ablation_spec(corpus, out / "pipeline")
    (out / "ablation_spec.yaml").write_text(yaml.safe_dump(raw_spec, sort_keys=False))
    spec = PipelineSpec.model_validate({**raw_spec, "source_path": str(out / "ablation_spec.yaml")})
    runner = PipelineRunner(spec)
    runner.run_all()
    spark = runner.spark
    ledger = runner.ledger()
    timings["pipeline_s"] = time.perf_counter() - started

    started = time.perf_counter()
    sample_rng = random.Random(1)
    tokenizer_texts = [r["text"][:20_000] for r in sample_rng.sample(records, min(len(records), 2000))]
    recipe = load_recipe("bpe_demo").model_copy(update={"vocab_size": args.vocab_size})
    bundle = train_from_texts(tokenizer_texts, recipe)
    write_artifact(bundle, out / "tokenizer", overwrite=True)
    tokenizer = load_tokenizer(out / "tokenizer")

    token_sets: dict[str, dict] = {}
    for variant in VARIANTS:
        stage = cut.get(variant)
        if stage is None:
            continue
        frame = spark.read.parquet(str(runner.stage_dir(stage) / "data"))
        folder = out / "tokens" / variant
        manifest = tokenize_to_folder(frame, bundle, folder, TokenizeOptions(num_shards=2, shuffle_seed=1))
        token_sets[variant] = {"stage": stage, "documents": manifest.documents, "tokens": manifest.tokens,
                               "folder": folder}
        print(f"{variant:>17}: {manifest.documents} docs, {manifest.tokens} tokens (after stage {stage})", flush=True)
    timings["tokenize_s"] = time.perf_counter() - started

    tokens_per_step = args.batch * args.seq_len
    smallest = min(v["tokens"] for v in token_sets.values())
    steps = min(args.steps, int(smallest * 0.98) // tokens_per_step)  # 0.98: the 1% validation split and windows
    if steps < 20:
        print(f"the smallest token set ({smallest} tokens) allows only {steps} steps; use more data", file=sys.stderr)
        return 2
    print(f"training {len(token_sets)} variants x {args.seeds} seeds for {steps} steps "
          f"({steps * tokens_per_step} tokens each)", flush=True)
    windows = {name: held_out_windows(tokenizer, texts, args.seq_len, args.eval_windows)
               for name, texts in held_out.items()}

    started = time.perf_counter()
    results: dict[str, list[dict]] = {v: [] for v in token_sets}
    for seed in range(args.seeds):
        for variant, info in token_sets.items():
            losses, result = train_variant(info["folder"], out / "train" / f"{variant}-seed{seed}", args, seed,
                                           steps, windows)
            results[variant].append({"seed": seed, "held_out": losses,
                                     "held_out_curve": sorted(result.val_losses.items()),
                                     "train_curve": [result.losses[s] for s in sorted(result.losses)]})
            print(f"{variant:>17} seed {seed}: " + "  ".join(f"{k} {v:.4f}" for k, v in losses.items()), flush=True)
    timings["train_s"] = time.perf_counter() - started

    table = render_table(token_sets, results, list(windows), steps, tokens_per_step, args)
    print(table)
    (out / "ablation.md").write_text(
        f"# Curation ablation\n\nCommand: `python benchmarks/{Path(__file__).name} "
        f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
        f"Pipeline ledger: input {ledger['input']}, kept {ledger['kept']}, balanced {ledger['balanced']}.\n"
        f"Timings: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()) + "\n\n" + table +
        "\n![loss curves](loss_curves.png)\n")
    (out / "ablation.json").write_text(json.dumps({
        "args": {k: str(v) for k, v in vars(args).items()}, "steps": steps, "timings": timings,
        "token_sets": {k: {kk: str(vv) if kk == "folder" else vv for kk, vv in v.items()}
                       for k, v in token_sets.items()},
        "results": results, "ledger": ledger}, indent=2))
    plot_curves(results, out / "loss_curves.png")
    print(f"wrote {out / 'ablation.md'} and {out / 'loss_curves.png'}")
    return 0


def render_table(token_sets, results, sets: list[str], steps: int, tokens_per_step: int, args) -> str:
    header = ["variant", "docs", "unique tokens", "epochs"] + [f"{s} loss (ppl)" for s in sets] + ["mean vs raw"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    raw_mean = None
    for variant, runs in results.items():
        per_set = []
        for name in sets:
            values = [r["held_out"][name] for r in runs]
            mean = statistics.fmean(values)
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            per_set.append((mean, spread))
        overall = statistics.fmean(m for m, _ in per_set)
        raw_mean = overall if variant == "raw" else raw_mean
        info = token_sets[variant]
        epochs = steps * tokens_per_step / info["tokens"]
        cells = [variant, str(info["documents"]), f"{info['tokens']:,}", f"{epochs:.2f}"]
        cells += [f"{m:.3f} ± {s:.3f} ({math.exp(m):.1f})" for m, s in per_set]
        cells.append("-" if raw_mean is None or variant == "raw" else f"{overall - raw_mean:+.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    note = (f"\n{len(next(iter(results.values())))} seeds (mean ± standard deviation of held-out loss in nats/token), "
            f"{steps} steps x {tokens_per_step} tokens, preset {args.preset}, {args.device}.\n")
    return "\n".join(lines) + "\n" + note


def plot_curves(results: dict[str, list[dict]], path: Path) -> None:
    """Left: held-out loss (mean of the held-out sets) during training; right: each variant's training loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (held, train) = plt.subplots(1, 2, figsize=(11, 4))
    for variant, runs in results.items():
        steps = [step for step, _ in runs[0]["held_out_curve"]]
        values = np.array([[value for _, value in r["held_out_curve"]] for r in runs], dtype=float)
        mean, spread = values.mean(axis=0), values.std(axis=0)
        line, = held.plot(steps, mean, marker="o", label=variant)
        held.fill_between(steps, mean - spread, mean + spread, color=line.get_color(), alpha=0.2)
        curves = np.array([r["train_curve"] for r in runs], dtype=float)
        window = max(1, curves.shape[1] // 40)
        smooth = np.convolve(np.nanmean(curves, axis=0), np.ones(window) / window, mode="valid")
        train.plot(np.arange(len(smooth)) + window, smooth, label=variant, color=line.get_color())
    held.set(xlabel="step", ylabel="held-out loss (nats/token)", title="Held-out text no variant saw")
    train.set(xlabel="step", ylabel="training loss", title="Each variant's own training data")
    held.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
