"""Plotly figures over the analyses' results (no Streamlit here)."""

from __future__ import annotations

import math

from .tables import lambda_rows, transfer_rows


def accuracy_heatmap(result: dict):
    """Rows: inputs / processors; columns: classifiers; cell text: accuracy % and CI."""
    import plotly.graph_objects as go

    clfs = result["classifiers"]
    rows = result["rows"]
    z = [[100 * r["accuracy"][c]["accuracy"] for c in clfs] for r in rows]
    def label(cell):
        half = 50 * (cell["ci95"][1] - cell["ci95"][0])
        return f"{100 * cell['accuracy']:.1f} ±{half:.1f}"

    text = [[label(r["accuracy"][c]) for c in clfs] for r in rows]
    fig = go.Figure(go.Heatmap(z=z, x=clfs, y=[r["name"] for r in rows], text=text,
                               texttemplate="%{text}", textfont={"size": CELL_TEXT_PX},
                               colorscale="Viridis", zmin=0, zmax=100,
                               colorbar_title="accuracy %",
                               hovertemplate="%{y} on %{x}: %{z:.2f} %<extra></extra>"))
    fig.update_layout(title=f"Accuracy on {result['task']} ({result['n_images']} test images)",
                      yaxis_autorange="reversed", xaxis_title="classifier",
                      **heatmap_size(len(rows)))
    return fig


CELL_TEXT_PX = 12      # heatmap cell text (the page must stay readable: at least 11 px)
ROW_PX = 30            # one heatmap row: two lines of 12 px text would not fit, one does


def heatmap_size(n_rows: int) -> dict:
    """Layout height for ``n_rows`` rows of one-line cell text (20 rows fit without overlap)."""
    return {"height": 140 + ROW_PX * n_rows, "font": {"size": 13},
            "margin": {"l": 10, "r": 10, "t": 60, "b": 60}}


def transfer_heatmap(result: dict):
    """Paired accuracy gain over plain (points) of RA trained on each source, on each target."""
    import plotly.graph_objects as go

    rows = transfer_rows(result)
    clfs = result["classifiers"]
    if not rows or result.get("plain") is None:
        return None
    z = [[100 * r["vs_plain"][c]["diff"] for c in clfs] for r in rows]
    fig = go.Figure(go.Heatmap(z=z, x=clfs, y=[r["source"] for r in rows], colorscale="RdBu",
                               zmid=0, texttemplate="%{z:+.1f}", textfont={"size": CELL_TEXT_PX},
                               colorbar_title="gain (points)",
                               hovertemplate="source %{y}, target %{x}: %{z:+.2f} points"
                                             "<extra></extra>"))
    fig.update_layout(title="RA gain over plain: source (rows) x target (columns)",
                      yaxis_autorange="reversed", xaxis_title="target classifier",
                      yaxis_title="source classifier", **heatmap_size(len(rows)))
    return fig


def lambda_figure(result: dict, source: str | None = None):
    """PSNR vs accuracy on the source, one point per lambda (default source: the one the RA
    processors' cards name)."""
    import plotly.graph_objects as go

    from ..errors import RAExplorerError
    from ..zoo.catalogue import ra_source

    try:
        source = ra_source(result["rows"], source, what=result["task"])
    except RAExplorerError:
        return None
    if source is None:
        return None

    rows = [r for r in lambda_rows(result, source) if source in r["accuracy"]]
    if not rows:
        return None
    fig = go.Figure(go.Scatter(
        x=[r["psnr"]["mean"] for r in rows], y=[100 * r["accuracy"][source]["accuracy"] for r in rows],
        mode="markers+lines+text", text=[f"λ={r['lambda'] or 0:g}" for r in rows],
        textposition="top center",
        hovertemplate="%{text}: PSNR %{x:.2f} dB, accuracy %{y:.1f} %<extra></extra>"))
    fig.update_layout(title=f"Trade-off on {result['task']}: PSNR vs accuracy on {source}",
                      xaxis_title="PSNR (dB)", yaxis_title=f"accuracy on {source} (%)")
    return fig


def bd_histograms(records: list[dict], classifier: str):
    """Histograms of BD along random vs RA directions (uncensored only)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for direction in ("random", "ra"):
        values = [r["bd"][classifier][direction] for r in records
                  if classifier in r["bd"] and not math.isnan(r["bd"][classifier][direction])]
        fig.add_trace(go.Histogram(x=values, name=f"{direction} ({len(values)})", opacity=0.6,
                                   nbinsx=30))
    fig.update_layout(barmode="overlay", title=f"BD of {classifier} along random vs RA directions",
                      xaxis_title="BD ([0,1]-pixel L2)", yaxis_title="images")
    return fig
