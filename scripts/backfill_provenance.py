"""Write reconstructed provenance (analysis.reporting.backfill) into the shipped result files
that were measured before provenance was kept: results/lambda_selection.json (one record
per selection) and results/float16_check.json (one record for the file); and in
results/loss_weight_selection.json, the weights' digests where its runs recorded their cards'.

Run from the repository root: ``.venv/bin/python scripts/backfill_provenance.py``. A file or
entry that already carries a provenance record is left as it is. Prints, per file, the commit
each record was found in and the checkpoints changed since.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.reporting.backfill import (  # noqa: E402
    card_digests_to_weights,
    reconstructed_provenance,
    stale_checkpoints,
)


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def lambda_selection(path: Path) -> None:
    data = json.loads(path.read_text())
    rel = str(path.relative_to(ROOT))
    for key, entry in data.items():
        if "provenance" in entry:
            continue
        task = entry["task"].split(":")[0]
        record = reconstructed_provenance(
            relpath=rel, predicate=lambda d, k=key, e=dict(entry): d.get(k) == e,
            command=f"python -m analysis build-zoo --only 'select:{task}:{entry['method']}'",
            dataset="fashion-mnist", split=entry.get("split", "val"),
            n_images=entry.get("val_images", 0),
            checkpoints=[entry["source"], entry["fine_tune"]["init"]], root=ROOT)
        entry["provenance"] = record
        print(f"{rel} {key}: recorded in {record['git']['recorded_in']}; "
              f"changed since: {stale_checkpoints(record, ROOT) or 'none'}")
    _write(path, data)


def float16_check(path: Path) -> None:
    data = json.loads(path.read_text())
    if "provenance" in data:
        return
    rel = str(path.relative_to(ROOT))
    rows = data["rows"]
    names = sorted({r["name"] for r in rows} | {r["judge"] for r in rows if r.get("judge")})
    record = reconstructed_provenance(
        relpath=rel, predicate=lambda d: d.get("rows") == rows,
        command="python -m analysis float16-check", dataset=data["dataset"],
        split=data["split"], n_images=max(r["images"] for r in rows), checkpoints=names,
        root=ROOT)
    data["provenance"] = record
    print(f"{rel}: recorded in {record['git']['recorded_in']}; "
          f"changed since: {stale_checkpoints(record, ROOT) or 'none'}")
    _write(path, data)


def weight_selection(path: Path) -> None:
    """The loss-weight selections recorded their checkpoints' card digests: the weights'."""
    data = json.loads(path.read_text())
    rel = str(path.relative_to(ROOT))
    for key, entry in data.items():
        changed = card_digests_to_weights(entry["provenance"], ROOT)
        print(f"{rel} {key}: weights digests for {', '.join(changed) or 'nothing'}")
    _write(path, data)


if __name__ == "__main__":
    lambda_selection(ROOT / "results" / "lambda_selection.json")
    float16_check(ROOT / "results" / "float16_check.json")
    weight_selection(ROOT / "results" / "loss_weight_selection.json")
