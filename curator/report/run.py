"""What a run folder holds, read from its files alone (no spec needed): stages in order, their stats and outputs.

Stages are discovered from ``<root>/*/_COMPLETE`` (stats in the folder the marker names), so a stage added to the project shows up in the report without
edits here. Document stages come in ledger order; sink stages (no ``data/`` folder) follow in the order they finished.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


MARKER = "_COMPLETE"


@dataclass
class StageOutput:
    name: str
    path: Path
    stats: dict[str, Any]
    finished: float = 0.0

    @property
    def kind(self) -> str:
        return self.stats.get("kind", self.name)

    @property
    def is_sink(self) -> bool:
        return bool(self.stats.get("sink"))

    @property
    def data(self) -> Path:
        return self.path / "data"

    @property
    def rejected(self) -> Path:
        return self.path / "rejected"


@dataclass
class RunFolder:
    root: Path
    stages: list[StageOutput]
    ledger: dict[str, Any] = field(default_factory=dict)

    @property
    def document_stages(self) -> list[StageOutput]:
        return [s for s in self.stages if not s.is_sink]

    @property
    def sink_stages(self) -> list[StageOutput]:
        return [s for s in self.stages if s.is_sink]

    def stage(self, name: str) -> StageOutput:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def of_kind(self, kind: str) -> list[StageOutput]:
        return [s for s in self.stages if s.kind == kind]


def read_run(root: str | Path, ledger: dict[str, Any] | None = None) -> RunFolder:
    """The completed stages under ``root`` (a stage counts once its completion marker and stats exist)."""
    root = Path(root)
    if ledger is None:
        ledger_file = root / "ledger.json"
        ledger = json.loads(ledger_file.read_text()) if ledger_file.exists() else {}
    from curator.io.run_files import committed_folder, read_json

    found: dict[str, StageOutput] = {}
    for stage_dir in sorted(root.glob(f"*/{MARKER}")):
        stage_dir = stage_dir.parent
        if stage_dir.name.startswith((".", "_")):
            continue
        # Outputs live where the marker says: the stage folder, or the attempt folder it names (object stores).
        folder = committed_folder(stage_dir)
        stats = read_json(folder / "stats.json", "stage stats") if folder is not None else None
        if stats is None:
            continue
        marker = read_json(stage_dir / MARKER, "completion marker") or {}
        found[stage_dir.name] = StageOutput(stage_dir.name, folder.path, stats, float(marker.get("finished", 0.0)))
    order = [row["stage"] for row in ledger.get("stages", []) if row["stage"] in found]
    # Stages the ledger does not list (sinks; document stages after an incomplete one) follow in finishing order,
    # document stages before sinks.
    rest = sorted((s for n, s in found.items() if n not in order), key=lambda s: (s.is_sink, s.finished))
    stages = [found[n] for n in order] + rest
    return RunFolder(root, stages, ledger)


def stage_tables(run: RunFolder) -> list[tuple[str, list[str], list[list[Any]]]]:
    """Stage-specific tables found in the written stats: ``(title, header, rows)``. Summed annotation columns
    (``totals``), decontamination's per-benchmark contamination table and tokenize's rehydration totals."""
    tables = []
    for stage in run.stages:
        totals = stage.stats.get("totals")
        if totals:
            tables.append((f"Totals ({stage.name})", ["column", "total"], [[k, v] for k, v in totals.items()]))
        contamination = stage.stats.get("contamination")
        if contamination is not None:
            rows = [[name, c.get("items_found"), c.get("documents_removed"), c.get("documents_masked")]
                    for name, c in contamination.items()] or [["(none)", 0, 0, 0]]
            tables.append((f"Contamination ({stage.name})",
                           ["benchmark", "items found", "documents removed", "documents masked"], rows))
        rehydration = stage.stats.get("rehydration")
        if rehydration:
            tables.append((f"Rehydration ({stage.name})", ["", "before", "after"],
                           [["documents", rehydration.get("documents_before"), rehydration.get("documents_after")],
                            ["tokens", rehydration.get("tokens_before"), rehydration.get("tokens_after")]]))
    return tables
