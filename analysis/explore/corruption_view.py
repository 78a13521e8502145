"""The corruption benchmark as the Metrics page shows it: the corruption grid
(``corruption_grid.json``) as a summary frame of its rows and one row's type x severity matrix;
the processors trained on corruption cells (``corruption_processors.json``) as one line per cell
and method.

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


def judge(result: dict) -> str:
    """The classifier a corruption-processors result is read on: the RA source, else the
    first."""
    clfs = result["classifiers"]
    return result["source"] if result.get("source") in clfs else clfs[0]


def gain_frame(result: dict, classifier: str | None = None) -> pd.DataFrame:
    """``corruption_processors.json`` as one line per cell and non-plain method on
    ``classifier`` (default :func:`judge`): the corrupted input's, plain's and the method's
    accuracy (%) and the method - plain difference (points) with its 95 % CI."""
    clf = classifier or judge(result)
    lines = []
    for cell in result["cells"].values():
        plain = cell["rows"]["plain"]["accuracy"][clf]["accuracy"]
        for method, row in cell["rows"].items():
            if method == "plain":
                continue
            d = row["ra_minus_plain"][clf]
            lines.append({"type": cell["type"], "severity": cell["level"], "method": method,
                          "no processing %": 100 * cell["no_processing"][clf]["accuracy"],
                          "plain %": 100 * plain,
                          "method %": 100 * row["accuracy"][clf]["accuracy"],
                          "- plain (points)": 100 * d["diff"],
                          "low": 100 * d["ci95"][0], "high": 100 * d["ci95"][1],
                          "PSNR plain": cell["rows"]["plain"]["psnr"]["mean"],
                          "PSNR method": row["psnr"]["mean"]})
    return pd.DataFrame(lines)
