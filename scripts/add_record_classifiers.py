"""Add the classifiers of one record table to another of the same task, images and inputs
(:meth:`analysis.pipeline.records.RecordTable.with_classifiers`), in place.

The shipped tables ``results/records_<task>.parquet`` hold every classifier the app offers: the
zoo's from one ``python -m analysis evaluate --task T --records FILE`` pass, the
recognizer-side ones (``checkpoints/recognizers/``) from a second pass of the same command with
``--classifiers``, added here. Run from the repository root::

    .venv/bin/python scripts/add_record_classifiers.py results/records_sr_scale4.parquet EXTRA.parquet

Prints the classifiers added and the table's classifiers.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.pipeline.records import RecordTable  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    target, extra = (Path(a) for a in argv)
    table = RecordTable.load(target)
    merged = table.with_classifiers(RecordTable.load(extra))
    merged.save(target)
    added = [c for c in merged.classifiers if c not in table.classifiers]
    print(f"{target}: added {', '.join(added)}; classifiers {', '.join(merged.classifiers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
