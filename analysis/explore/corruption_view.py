"""The corruption grid (``corruption_grid.json``) as the Metrics page shows it: a summary frame
of its rows and one row's type x severity matrix.

Values: accuracy in % with the cell's bootstrap 95 % CI, the ECE (0-1), or the accuracy gain in
points over the vanilla classifier on the unprocessed corrupted input (the grid's mCE
reference), whose per-cell CI the result file does not hold.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..analyses.corruption_grid import NONE, row_label
from ..data.tasks import create_task

VALUES = ("accuracy", "gain over the vanilla classifier", "ECE")


def summary_frame(result: dict) -> pd.DataFrame:
    """One line per grid row: clean and mean accuracy (%), the mean error (unnormalised mCE, %)
    and the normalised mCE with their 95 % CIs, the mean ECE over the cells."""
    lines = []
    for row in result["rows"]:
        err, mce = row["mean_error"], row["mce"]
        lines.append({
            "row": row_label(row), "clean acc. %": 100 * row["clean"]["accuracy"],
            "mean acc. %": 100 * row["mean_accuracy"],
            "mean error %": 100 * err["value"], "mean error low": 100 * err["ci95"][0],
            "mean error high": 100 * err["ci95"][1],
            "mCE": mce["value"], "mCE low": mce["ci95"][0], "mCE high": mce["ci95"][1],
            "mean ECE": float(np.mean([c["ece"] for c in row["cells"].values()])),
            "clean ECE": row["clean"]["ece"]})
    return pd.DataFrame(lines)


def vanilla_row(result: dict) -> dict:
    """The mCE reference row: the vanilla classifier on the unprocessed corrupted input."""
    return next(r for r in result["rows"]
                if r["classifier"] == result["vanilla"] and r["input"] == NONE)


def cell_matrix(result: dict, row_index: int, value: str = "accuracy"):
    """(types, levels, z, text) of one row: z[t][s] the ``value`` (:data:`VALUES`) of type t at
    severity levels[s] (NaN where the grid lacks the cell), text its label (accuracy: the value
    and the half width of its 95 % CI)."""
    if value not in VALUES:
        raise ValueError(f"value must be one of {VALUES}")
    row = result["rows"][row_index]
    ref = vanilla_row(result)
    types, levels = result["types"], result["levels"]
    place = {(create_task(s).params["type"], create_task(s).params["level"]): s
             for s in result["cells"]}
    z, text = [], []
    for kind in types:
        z_row, t_row = [], []
        for level in levels:
            spec = place.get((kind, level))
            if spec is None:
                z_row.append(float("nan"))
                t_row.append("")
                continue
            cell = row["cells"][spec]
            if value == "accuracy":
                half = 50 * (cell["ci95"][1] - cell["ci95"][0])
                z_row.append(100 * cell["accuracy"])
                t_row.append(f"{100 * cell['accuracy']:.1f} ±{half:.1f}")
            elif value == "ECE":
                z_row.append(cell["ece"])
                t_row.append(f"{cell['ece']:.3f}")
            else:
                gain = 100 * (cell["accuracy"] - ref["cells"][spec]["accuracy"])
                z_row.append(gain)
                t_row.append(f"{gain:+.1f}")
        z.append(z_row)
        text.append(t_row)
    return types, levels, z, text
