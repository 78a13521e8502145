"""The BD table's nearest-boundary and perceptual-unit parts: per pair NB of both classifiers
and BD / NB per direction, and the two markdown tables that print them beside the L2 table
(:mod:`.boundary_nearest` measures them, :mod:`.boundary_table` collects the records)."""

from __future__ import annotations

import math

from .boundary_stats import estimate_text, num_text, summarize

DIRECTIONS = ("random", "ra")        # the BD table's directions (the nearest boundary apart)


def nearest_table(chosen: list[dict], source: str, target: str, seed: int = 0) -> dict:
    """The nearest-boundary distance NB of both classifiers (an attack's upper bound, L2) and
    BD along each direction relative to it (BD / NB per image; below 1 where the direction
    found a closer boundary than the attack)."""
    out = {}
    for role, c in (("source", source), ("target", target)):
        nb = [r["nearest"][c] for r in chosen]
        out[f"nb_{role}"] = summarize(nb, seed)
        for dname in DIRECTIONS:
            ratio = [r["bd"][c][dname] / n if not (math.isnan(n) or n <= 0) else math.nan
                     for r, n in zip(chosen, nb)]
            stats = summarize(ratio, seed)
            stats["below_one"] = int(sum(v < 1 for v in ratio if not math.isnan(v)))
            out[f"ratio_{role}_{dname}"] = stats
    return out


def nearest_lines(report: dict) -> list[str]:
    """The nearest-boundary table (empty when the report has none)."""
    pairs = [p for p in report["pairs"] if "nearest" in p]
    if not pairs or not report.get("nearest"):
        return []
    lines = ["", f"Nearest boundary NB (L2, [0,1]-pixel units): {report['nearest']['budget']}, "
             f"{report['nearest'].get('library', 'foolbox')}. BD / NB per image, median [95% CI] "
             "(the count below 1: images where the direction met a closer boundary than the "
             "attack found).", "",
             "| source | target | images | NB(Rs) mean [95% CI] | NB(Rt) mean [95% CI] | "
             "BD/NB(Rs) random | BD/NB(Rs) ra | BD/NB(Rt) random | BD/NB(Rt) ra | "
             "below 1 (Rs / Rt) | NB censored (Rs / Rt) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in pairs:
        n = p["nearest"]
        below = " / ".join(str(sum(n[f"ratio_{role}_{d}"]["below_one"] for d in DIRECTIONS))
                           for role in ("source", "target"))
        lines.append(
            f"| {p['source']} | {p['target']} | {p['selected']} | "
            f"{estimate_text(n['nb_source'], 'mean')} | {estimate_text(n['nb_target'], 'mean')} | "
            + " | ".join(estimate_text(n[f"ratio_{role}_{d}"], "median")
                         for role in ("source", "target") for d in DIRECTIONS)
            + f" | {below} | {n['nb_source']['censored']} / {n['nb_target']['censored']} |")
    return lines


def perceptual_lines(report: dict) -> list[str]:
    """BD in perceptual units beside L2 (empty when the report has none)."""
    pairs = [p for p in report["pairs"] if "perceptual" in p]
    if not pairs or not report.get("perceptual"):
        return []
    lines = ["", f"BD in perceptual units: {report['perceptual']} (uncalibrated LPIPS-style "
             "feature distance, unit weights) between x and the crossing point, beside the L2 "
             "mean; nearest: the attack's refined point.", "",
             "| source | target | direction | BD(Rs) L2 mean | BD(Rs) perceptual mean [95% CI] | "
             "BD(Rt) L2 mean | BD(Rt) perceptual mean [95% CI] |",
             "|---|---|---|---:|---:|---:|---:|"]
    for p in pairs:
        for dname, e in p["perceptual"].items():
            if dname == "nearest":
                l2 = (p["nearest"]["nb_source"], p["nearest"]["nb_target"]) if "nearest" in p \
                    else None
            else:
                l2 = (p["directions"][dname]["bd_source"], p["directions"][dname]["bd_target"])
            l2s = [num_text(v["mean"]) if l2 and not math.isnan(v["mean"]) else "-"
                   for v in (l2 or ({"mean": math.nan},) * 2)]
            lines.append(f"| {p['source']} | {p['target']} | {dname} | {l2s[0]} | "
                         f"{estimate_text(e['bd_source'], 'mean')} | {l2s[1]} | "
                         f"{estimate_text(e['bd_target'], 'mean')} |")
    return lines


def nearest_rows(pair: dict) -> list[dict]:
    """One row per classifier of a pair of the BD table (the source, then the target): NB's
    mean with its CI and BD / NB's median per direction, as text for a page's table (empty
    when the pair has no nearest boundary)."""
    n = pair.get("nearest")
    if not n:
        return []
    return [{"classifier": pair[role], "role": "Rs" if role == "source" else "Rt",
             "NB mean [95% CI]": estimate_text(n[f"nb_{role}"], "mean"),
             **{f"BD/NB {d} median [95% CI]": estimate_text(n[f"ratio_{role}_{d}"], "median")
                for d in DIRECTIONS},
             "below 1": sum(n[f"ratio_{role}_{d}"]["below_one"] for d in DIRECTIONS),
             "NB censored": n[f"nb_{role}"]["censored"]}
            for role in ("source", "target")]


def perceptual_rows(pair: dict) -> list[dict]:
    """One row per direction (random, ra, nearest) of a pair of the BD table: the mean
    perceptual distance of both classifiers' crossing points with its CI, as text (empty when
    the pair has none)."""
    return [{"direction": d, f"BD({pair['source']})": estimate_text(e["bd_source"], "mean"),
             f"BD({pair['target']})": estimate_text(e["bd_target"], "mean")}
            for d, e in pair.get("perceptual", {}).items()]
