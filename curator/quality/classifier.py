"""fastText quality classifier: training from labelled examples, held-out metrics, scoring and stochastic keeping.

Training and scoring share :func:`normalize_for_classifier`, so a model sees at scoring time exactly the kind of text
it was trained on. Models are fastText supervised models with labels ``__label__<positive>`` and
``__label__<negative>``; the score of a document is the probability of the positive label.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gzip
import hashlib
import json
import logging
import multiprocessing
import random
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, ContextManager, Iterator, Sequence

from curator.errors import CuratorError
from curator.hashing import file_sha256


log = logging.getLogger(__name__)
NAN_RETRIES = 3


_PUNCT = re.compile(r"([^\w\s])")
_SPACES = re.compile(r"\s+")


def normalize_for_classifier(text: str, max_chars: int = 10_000) -> str:
    """Lowercased, punctuation split off words, one line (fastText reads one example per line)."""
    return _SPACES.sub(" ", _PUNCT.sub(r" \1 ", text[:max_chars].lower())).strip()


def load_model(path: str | Path):
    from curator.fasttext_models import load_fasttext_model

    if not Path(path).is_file():
        raise CuratorError(f"quality classifier model not found: {path}")
    return load_fasttext_model(path)


def score_texts(model, texts: Sequence[str], positive_label: str = "hq", max_chars: int = 10_000) -> list[float]:
    """Probability of ``__label__<positive_label>`` for each text (the list form of predict is the fast path)."""
    if not texts:
        return []
    target = f"__label__{positive_label}"
    if target not in model.get_labels():
        raise CuratorError(f"model has no label {target!r}; its labels: {model.get_labels()}")
    labels, probs = model.predict([normalize_for_classifier(t, max_chars) for t in texts], k=-1)
    scores = []
    for labs, ps in zip(labels, probs):
        p = dict(zip(labs, ps)).get(target, 0.0)
        scores.append(float(min(max(p, 0.0), 1.0)))
    return scores


def pareto_keep(score: float, doc_id: str, seed: int, alpha: float) -> bool:
    """GPT-3-style stochastic keep: keep if a Pareto(alpha) draw exceeds 1 - score.

    The draw is derived from (seed, document id), so a decision does not depend on partitioning or reruns.
    """
    digest = hashlib.blake2b(f"{seed}:{doc_id}".encode(), digest_size=8).digest()
    uniform = (int.from_bytes(digest, "big") + 1) / 2.0**64  # in (0, 1]
    draw = uniform ** (-1.0 / alpha) - 1.0  # inverse CDF of the Lomax (numpy's pareto) distribution
    return draw > 1.0 - score


# -------------------------------------------------------------------------------------------------------- training

@dataclass(frozen=True)
class InputSpec:
    """One training input: a file, an optional field, and which class its rows belong to.

    ``label`` is ``"pos"``/``"neg"`` for class-wide inputs, or None for labelled inputs (the class then comes from
    ``label_column`` through ``positive_labels``/``negative_labels``; rows with other labels are ignored).
    """

    path: str
    text_field: str = "text"
    label: str | None = None
    label_column: str | None = None
    positive_labels: tuple[str, ...] = ()
    negative_labels: tuple[str, ...] = ()

    @classmethod
    def parse(cls, arg: str, label: str | None, default_field: str = "text", **kw) -> "InputSpec":
        """``PATH`` or ``PATH::FIELD`` (FIELD may hold a string or a list of strings)."""
        path, _, text_field = arg.partition("::")
        return cls(path=path, text_field=text_field or default_field, label=label, **kw)


@dataclass
class TrainParams:
    epoch: int = 10
    lr: float = 0.2
    dim: int = 64
    word_ngrams: int = 2
    min_count: int = 2
    bucket: int = 200_000
    seed: int = 1
    holdout_fraction: float = 0.1
    chunk_chars: int = 2_000
    min_chars: int = 20
    max_examples_per_input: int | None = None
    strip_email_headers: bool = False
    quantize: bool = True
    cutoff: int = 50_000
    positive_label: str = "hq"
    negative_label: str = "lq"
    max_chars: int = 10_000


@dataclass
class TrainReport:
    model_path: str
    model_bytes: int
    params: dict
    inputs: list[dict] = field(default_factory=list)
    train_examples: dict = field(default_factory=dict)
    heldout_examples: dict = field(default_factory=dict)
    heldout: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8", errors="replace") if path.suffix == ".gz" else \
        open(path, encoding="utf-8", errors="replace")


def read_rows(path: str | Path) -> Iterator[dict]:
    """Rows of a JSONL(.gz), Parquet or plain-text (.txt: one example per paragraph) file."""
    path = Path(path)
    if not path.is_file():
        raise CuratorError(f"training input not found: {path}")
    name = path.name
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()
    elif name.endswith((".jsonl", ".jsonl.gz", ".json.gz", ".ndjson")):
        with _open_text(path) as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise CuratorError(f"{path}:{n}: not valid JSON ({e.msg})") from None
    elif name.endswith((".txt", ".txt.gz")):
        with _open_text(path) as f:
            for para in re.split(r"\n\s*\n", f.read()):
                yield {"text": para}
    else:
        raise CuratorError(f"unsupported training input {path} (use .jsonl[.gz], .parquet or .txt)")


_HEADER_LINE = re.compile(r"^(?:From |[!-9;-~]+:)")


def strip_email_header(text: str) -> str:
    """The body of an RFC-822 message (text after the header block); other texts are returned unchanged."""
    head, sep, body = text.partition("\n\n")
    lines = head.split("\n")
    if sep and lines and _HEADER_LINE.match(lines[0]) and all(
            _HEADER_LINE.match(line) or line[:1] in (" ", "\t") for line in lines):
        return body
    return text


def chunk_text(text: str, chunk_chars: int) -> list[str]:
    """Split at paragraph (then line) boundaries into pieces of at most about ``chunk_chars`` characters."""
    if len(text) <= chunk_chars:
        return [text]
    pieces, current, size = [], [], 0
    for block in re.split(r"(\n\s*\n|\n)", text):
        if size + len(block) > chunk_chars and current:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(block[:chunk_chars])
        size += len(block[:chunk_chars])
    if current:
        pieces.append("".join(current))
    return [p for p in pieces if p.strip()]


def _stable_fraction(*parts) -> float:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def collect_examples(inputs: Sequence[InputSpec], params: TrainParams) -> tuple[list, list, list[dict]]:
    """(train, heldout, per-input summaries); examples are (label, normalized text).

    The held-out split is by source row, before chunking, so no document contributes to both sides.
    """
    train, heldout, summaries = [], [], []
    labels = {"pos": params.positive_label, "neg": params.negative_label}
    for index, spec in enumerate(inputs):
        rows = []
        for row_number, row in enumerate(read_rows(spec.path)):
            if spec.label is not None:
                label = labels[spec.label]
            else:
                value = str(row.get(spec.label_column))
                label = (params.positive_label if value in spec.positive_labels
                         else params.negative_label if value in spec.negative_labels else None)
                if label is None:
                    continue
            raw = row.get(spec.text_field)
            texts = raw if isinstance(raw, list) else [raw]
            for item, text in enumerate(texts):
                if isinstance(text, str) and text.strip():
                    rows.append((f"{row_number}.{item}", label, text))
        if params.max_examples_per_input is not None and len(rows) > params.max_examples_per_input:
            rows = random.Random(f"{params.seed}:{index}").sample(rows, params.max_examples_per_input)
        counts = {"rows": len(rows), "examples": 0}
        for key, label, text in rows:
            if params.strip_email_headers:
                text = strip_email_header(text)
            side = heldout if _stable_fraction(params.seed, index, key) < params.holdout_fraction else train
            for piece in chunk_text(text, params.chunk_chars):
                if len(piece.strip()) >= params.min_chars:
                    side.append((label, normalize_for_classifier(piece, params.max_chars)))
                    counts["examples"] += 1
        summaries.append({**asdict(spec), "sha256": file_sha256(spec.path), **counts})
    if not train:
        raise CuratorError("no training examples: check the inputs, fields and labels")
    if len({label for label, _ in train}) < 2:
        raise CuratorError("training examples hold only one class; give both positive and negative inputs")
    return train, heldout, summaries


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U with tie correction)."""
    pairs = sorted(zip(scores, labels))
    n_pos = sum(labels)
    n_neg = len(labels) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    rank_sum, i = 0.0, 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2.0  # ranks i+1..j share their average
        rank_sum += mean_rank * sum(label for _, label in pairs[i:j])
        i = j
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def evaluate_model(model, examples: Sequence[tuple[str, str]], positive_label: str,
                   threshold: float = 0.5) -> dict:
    """Precision, recall and F1 of the positive class at ``threshold``, and ROC AUC, on normalized examples."""
    if not examples:
        return {}
    target = f"__label__{positive_label}"
    labels, probs = model.predict([text for _, text in examples], k=-1)
    scores = [dict(zip(lab, p)).get(target, 0.0) for lab, p in zip(labels, probs)]
    truth = [1 if label == positive_label else 0 for label, _ in examples]
    tp = sum(1 for t, s in zip(truth, scores) if t and s >= threshold)
    fp = sum(1 for t, s in zip(truth, scores) if not t and s >= threshold)
    fn = sum(1 for t, s in zip(truth, scores) if t and s < threshold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = sum(1 for t, s in zip(truth, scores) if t == (s >= threshold)) / len(truth)
    return {"threshold": threshold, "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(f1, 4), "accuracy": round(accuracy, 4), "auc": round(roc_auc(truth, scores), 4),
            "n": len(truth), "n_positive": sum(truth)}


def _fit_fasttext(train_file: str, output: str, params: TrainParams, threads: int, verbose: int = 0) -> float:
    """Train (and quantise) a fastText supervised model; return the learning rate that converged."""
    from curator.fasttext_models import quiet_fasttext

    fasttext = quiet_fasttext()
    lr = params.lr
    for attempt in range(NAN_RETRIES + 1):
        try:
            model = fasttext.train_supervised(
                input=train_file, epoch=params.epoch, lr=lr, dim=params.dim, wordNgrams=params.word_ngrams,
                minCount=params.min_count, bucket=params.bucket, seed=params.seed, thread=threads, verbose=verbose)
            if params.quantize:
                model.quantize(input=train_file, qnorm=True, retrain=True, cutoff=params.cutoff, epoch=params.epoch,
                               lr=lr, thread=threads, verbose=verbose)
            model.save_model(output)
            return lr
        except RuntimeError as e:
            # fastText's SGD occasionally diverges on small or very uniform data ("Encountered NaN"); a smaller
            # learning rate converges. Give up with a clear error after a few halvings.
            if "NaN" not in str(e) or attempt == NAN_RETRIES:
                raise CuratorError(f"fastText training diverged (lr {lr:g}): {e}; try a smaller --lr") from None
            log.warning("fastText training diverged at lr %g; retrying at lr %g", lr, lr / 2)
            lr /= 2
    raise AssertionError("unreachable")


def train_classifier(inputs: Sequence[InputSpec], output: str | Path, params: TrainParams | None = None,
                     threads: int = 2, phase: Callable[[str], ContextManager] | None = None,
                     show_progress: bool = False) -> TrainReport:
    """Train, evaluate on the held-out split, optionally quantize, save ``output`` and ``output``.json.

    ``phase(message)`` wraps each step (the CLI prints it with its duration); ``show_progress`` lets fastText print
    its own progress line (percent done, loss, ETA) on stderr while it fits."""
    params = params or TrainParams()
    phase = phase or (lambda message: contextlib.nullcontext())
    with phase(f"reading examples from {len(inputs)} input(s)"):
        train, heldout, summaries = collect_examples(inputs, params)
    random.Random(params.seed).shuffle(train)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    steps = "fitting" + (" and quantizing" if params.quantize else "")
    with tempfile.TemporaryDirectory() as tmp, phase(f"{steps} fastText on {len(train):,} examples, "
                                                     f"{params.epoch} epochs, {threads} threads"):
        train_file = Path(tmp) / "train.txt"
        train_file.write_text("".join(f"__label__{label} {text}\n" for label, text in train), encoding="utf-8")
        # The fit runs in a fresh interpreter: in a process that has loaded other native libraries (presidio's
        # stack in the same test session, for one) fastText's SGD was seen to produce NaN at every learning rate.
        spawn = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            pool.submit(_fit_fasttext, str(train_file), str(output), params, threads,
                        2 if show_progress else 0).result()
    with phase(f"evaluating on {len(heldout):,} held-out examples"):
        model = load_model(output)
        metrics = evaluate_model(model, heldout, params.positive_label)
    count = lambda xs: {params.positive_label: sum(1 for label, _ in xs if label == params.positive_label),  # noqa: E731
                        params.negative_label: sum(1 for label, _ in xs if label != params.positive_label)}
    report = TrainReport(model_path=str(output), model_bytes=output.stat().st_size, params=asdict(params),
                         inputs=summaries, train_examples=count(train), heldout_examples=count(heldout),
                         heldout=metrics)
    Path(str(output) + ".json").write_text(report.to_json() + "\n")
    return report
