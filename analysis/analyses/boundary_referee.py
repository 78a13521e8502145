"""The referee of the sampled boundary search: the Table 17 selection measured twice, by the
search and by the exact region walk, in one process, and the search's results compared with
the exact first crossings.

A search result is a *later crossing* when it exceeds the exact first crossing by more than the
bisection tolerance (the search's bracket is (BD - tol, BD] when it finds the first crossing);
the report counts them per classifier and direction, with the distribution of the excess
(search - exact, [0,1]-pixel L2), the worst case, the censoring each method reports, the exact
walk's certificate (largest residual, regions crossed) and both methods' wall time.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from .boundary_defaults import TOL
from .boundary_exact import MAX_REGIONS
from .boundary_table import DIRECTIONS, collect_records


def referee_report(task: str, source: str, target: str, limit=None, tol: float = TOL,
                   max_regions: int = MAX_REGIONS, **options) -> dict:
    """Search and exact walk on the images the pair selects (Rs(x) = Rt(x) != label), compared.

    ``limit``: the first test images (None: the whole split, the shipped table's selection);
    ``options``: :func:`analysis.analyses.boundary_table.collect_records`'s (the search's
    schedule among them); ``max_regions``: the walk's limit per pair (an unfinished pair still
    bounds BD from below by how far it went). Returns a JSON-ready dict (see :func:`format_referee_report`).
    """
    pair = (source, target)
    clock = time.perf_counter()
    quiet = {"nearest": False, "perceptual": "none", **options}   # the referee compares BDs only
    search, settings = collect_records(task, [source, target], pair=pair, limit=limit, tol=tol,
                                       method="search", **quiet)
    search_s = time.perf_counter() - clock
    clock = time.perf_counter()
    exact, exact_settings = collect_records(task, [source, target], pair=pair, limit=limit,
                                            tol=tol, method="exact", max_regions=max_regions,
                                            **quiet)
    exact_s = time.perf_counter() - clock
    by_index = {r["index"]: r for r in exact}
    rows = []
    for r in search:
        e = by_index[r["index"]]
        for c in (source, target):
            for dname in DIRECTIONS:
                cert = e.get("certificate", {}).get(f"{c}/{dname}", {})
                rows.append({"index": r["index"], "classifier": c, "direction": dname,
                             "search": r["bd"][c][dname], "exact": e["bd"][c][dname],
                             "regions": cert.get("regions"), "residual": cert.get("residual"),
                             "unfinished": cert.get("unfinished", False),
                             "reached": cert.get("reached")})
    groups = {}
    for c in (source, target):
        for dname in DIRECTIONS:
            groups[f"{c}/{dname}"] = compare([row for row in rows if row["classifier"] == c
                                              and row["direction"] == dname], tol)
    settings = {k: v for k, v in settings.items() if k != "provenance"}
    return {**settings, "methods": exact_settings["methods"], "pairs_measured": len(rows),
            "images": len(search), "search_seconds": search_s, "exact_seconds": exact_s,
            "groups": groups, "all": compare(rows, tol), "rows": rows,
            "provenance": exact_settings["provenance"]}


def compare(rows: list[dict], tol: float) -> dict:
    """Counts and the excess distribution of search over exact for a list of referee rows."""
    both = [(r["search"], r["exact"]) for r in rows
            if not (math.isnan(r["search"]) or math.isnan(r["exact"]))]
    excess = np.array([s - e for s, e in both], dtype=np.float64)
    later = excess[excess > tol]
    residuals = [r["residual"] for r in rows if r["residual"] is not None]
    regions = [r["regions"] for r in rows if r["regions"] is not None]
    out = {"pairs": len(rows), "compared": len(both), "later": int(later.size),
           "earlier": int((excess < -tol).sum()),
           "search_censored": sum(math.isnan(r["search"]) for r in rows),
           "exact_censored": sum(math.isnan(r["exact"]) and not r["unfinished"] for r in rows),
           "unfinished": sum(bool(r["unfinished"]) for r in rows),
           "max_residual": max(residuals) if residuals else math.nan,
           "regions_median": float(np.median(regions)) if regions else math.nan,
           "regions_max": int(max(regions)) if regions else 0}
    # an unfinished walk bounds BD from below: no change on [0, reached); the search's result
    # is then at most search - reached too late
    open_rows = [r for r in rows if r["unfinished"] and not math.isnan(r["search"])]
    out["unfinished_search_beyond_reached"] = sum(r["search"] > r["reached"] + tol
                                                  for r in open_rows)
    if later.size:
        rel = np.array([(s - e) / e for s, e in both if s - e > tol and e > 0])
        out.update({"later_excess_median": float(np.median(later)),
                    "later_excess_max": float(later.max()),
                    "later_relative_max": float(rel.max()) if rel.size else math.nan})
    return out


def format_referee_report(report: dict) -> str:
    lines = [f"Referee of the sampled search on task {report['task']} ({report['dataset']}, "
             f"{report['images']} selected images of the first {report['limit']}; "
             f"{report['pairs_measured']} (image, classifier, direction) pairs). A later "
             f"crossing: search > exact + tol ({report['tol']}). Search "
             f"{report['search_seconds']:.1f} s, exact walk {report['exact_seconds']:.1f} s.",
             "", "| classifier / direction | pairs | later crossings | largest excess (L2) | "
             "largest relative excess | earlier (> tol) | censored search / exact | "
             "unfinished (search beyond the walk's reach) | max residual | regions median / max |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, g in [*report["groups"].items(), ("all", report["all"])]:
        lines.append(f"| {name} | {g['pairs']} | {g['later']} | "
                     f"{g.get('later_excess_max', 0.0):.4g} | "
                     f"{g.get('later_relative_max', 0.0):.3g} | {g['earlier']} | "
                     f"{g['search_censored']} / {g['exact_censored']} | {g['unfinished']} "
                     f"({g['unfinished_search_beyond_reached']}) | "
                     f"{g['max_residual']:.2e} | {g['regions_median']:g} / {g['regions_max']} |")
    return "\n".join(lines)


def save_referee_report(report: dict, out_dir: Path) -> list[Path]:
    """``referee.json`` and ``referee.md`` in ``out_dir`` (created)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "referee.json", out_dir / "referee.md"
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    md_path.write_text(format_referee_report(report) + "\n")
    return [json_path, md_path]
