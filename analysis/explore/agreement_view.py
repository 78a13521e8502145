"""What the Metrics page shows of an ``agreement`` result, without Streamlit: the agreement
table as a sortable frame (one row per metric, input and classifier), the RA-visibility index
per metric and processor, and the per-image scatter
of one metric against one classifier's logit margin on one input, from the per-image table
beside the result (``agreement_<task>_images.parquet``); a point is a test image (its
``index`` opens it in Compare).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..analyses.metric_agreement import POOLED, images_name
from ..errors import RAExplorerError, unknown_name

CONFIDENCE = "confidence-"
STATISTICS = (("spearman_prob", "rho(p_y)"), ("spearman_margin", "rho(margin)"),
              ("auroc", "AUROC(correct)"))


def agreement_frame(result: dict, inputs: list[str] | None = None,
                    classifiers: list[str] | None = None) -> pd.DataFrame:
    """One row per (metric, processed input, classifier or ``pooled``) of ``result``'s
    agreement table, restricted to ``inputs`` / ``classifiers`` (None: all): the statistic and
    its 95 % CI bounds as numbers (so that every column sorts), the accuracy, whether lower is
    better, and MIQA's classification SRCC where the metric is one MIQA reports."""
    lower = {m["name"]: m["lower_better"] for m in result["metrics"]}
    miqa = result.get("miqa_classification_srcc", {})
    rows = []
    for r in result["agreement"]:
        if (inputs is not None and r["input"] not in inputs) or (
                classifiers is not None and r["classifier"] not in classifiers):
            continue
        row = {"metric": r["metric"], "lower is better": lower.get(r["metric"]),
               "input": r["input"], "classifier": r["classifier"], "accuracy": r["accuracy"]}
        for key, label in STATISTICS:
            stat = r[key]
            row[label] = stat["value"]
            row[f"{label} low"], row[f"{label} high"] = stat["ci95"]
        row["MIQA SRCC"] = miqa.get(r["metric"])
        rows.append(row)
    return pd.DataFrame(rows).astype({"MIQA SRCC": float}, errors="ignore")


def visibility_frame(result: dict) -> pd.DataFrame:
    """One row per (metric, processor) of ``result``'s RA-visibility table: the index
    |delta| / floor with its 95 % CI bounds, delta (oriented: > 0 the processor's outputs score
    better than the plain processor's), the floor and where it comes from (``seeds``: plain
    processors of different training seeds; ``sampling``: sampling noise only)."""
    rows = [{"metric": r["metric"], "processor": r["input"], "index": r["index"]["value"],
             "index low": r["index"]["ci95"][0], "index high": r["index"]["ci95"][1],
             "delta": r["delta"]["value"], "delta low": r["delta"]["ci95"][0],
             "delta high": r["delta"]["ci95"][1], "floor": r["floor"],
             "floor from": r.get("floor_source", "sampling")}
            for r in result.get("visibility", [])]
    return pd.DataFrame(rows)


def agreement_classifiers(result: dict) -> list[str]:
    """The classifier choices of the table: ``pooled`` first where the result has several."""
    return ([POOLED] if len(result["classifiers"]) > 1 else []) + list(result["classifiers"])


def processed_inputs(result: dict) -> list[str]:
    """The inputs a metric was measured on: every one but the clean image."""
    return [i["name"] for i in result["inputs"] if i["name"] != "clean"]


def images_path(folder: Path, task_spec: str) -> Path:
    """Where the per-image table of ``task_spec``'s agreement result lies in ``folder``."""
    return Path(folder) / images_name(task_spec)


def load_images(path: Path) -> pd.DataFrame:
    """The per-image table, or one sentence naming the command that writes it."""
    if not Path(path).is_file():
        raise RAExplorerError(f"No per-image agreement table at {path}; the agreement verb "
                              "writes it beside its result ('python -m analysis agreement "
                              "--task T').")
    return pd.read_parquet(path)


def scatter_frame(images: pd.DataFrame, metric: str, input_name: str,
                  classifier: str) -> pd.DataFrame:
    """One row per image: ``index``, ``label``, the metric's value on ``input_name``
    (``metric``; its own orientation), ``classifier``'s logit margin and true-class
    probability on it, and whether it is right (``correct``)."""
    own = f"metric|{input_name}|{metric}"
    if own not in images.columns and metric.startswith(CONFIDENCE):   # a classifier's max softmax
        own = f"confidence|{input_name}|{metric[len(CONFIDENCE):]}"
    columns = {"metric": own,
               "margin": f"margin|{input_name}|{classifier}",
               "prob": f"prob|{input_name}|{classifier}",
               "correct": f"correct|{input_name}|{classifier}"}
    missing = [c for c in columns.values() if c not in images.columns]
    if missing:
        measured = scatter_metrics(images, input_name)
        if columns["metric"] in missing:
            raise unknown_name(f"metric measured on {input_name}", metric, measured)
        raise RAExplorerError(f"The per-image table has no margins of {classifier} on "
                              f"{input_name}.")
    return pd.DataFrame({"index": images["index"].to_numpy(np.int64),
                          "label": images["label"].to_numpy(np.int64),
                          metric: images[columns["metric"]].to_numpy(np.float64),
                          "margin": images[columns["margin"]].to_numpy(np.float64),
                          "p_y": images[columns["prob"]].to_numpy(np.float64),
                          "correct": images[columns["correct"]].to_numpy(bool)})


def scatter_metrics(images: pd.DataFrame, input_name: str) -> list[str]:
    """The metrics of the per-image table on ``input_name``, then ``confidence-<classifier>``."""
    names = [c.split("|")[2] for c in images.columns if c.startswith(f"metric|{input_name}|")]
    return names + [CONFIDENCE + c.split("|")[2] for c in images.columns
                    if c.startswith(f"confidence|{input_name}|")]


def agreement_row(result: dict, metric: str, input_name: str, classifier: str) -> dict | None:
    """The agreement table's row of (metric, input, classifier), or None."""
    return next((r for r in result["agreement"] if (r["metric"], r["input"], r["classifier"])
                 == (metric, input_name, classifier)), None)


def clicked_index(points: list[dict]) -> int | None:
    """The test-image index of the first clicked scatter point (its ``customdata``, a number or
    a one-element list), or None."""
    for point in points or []:
        data = point.get("customdata")
        if isinstance(data, (list, tuple)):
            data = data[0] if data else None
        if data is not None:
            return int(data)
    return None
