"""Plotly figures over the analyses' results (no Streamlit here)."""

from __future__ import annotations

import math

from ..analyses.corruption_grid import row_label
from ..explore.corruption_view import cell_matrix
from .paper.distances import DIRECTION_LABELS, ecdf
from .paper.style import LINE_COLOURS
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


def corruption_heatmap(result: dict, row_index: int, value: str = "accuracy"):
    """One row of the corruption grid: corruption types down, severities across; the colour is
    ``value`` (accuracy %, gain in points over the vanilla classifier, or ECE), the cell text
    the value (accuracy: with the half width of its bootstrap 95 % CI)."""
    import plotly.graph_objects as go

    types, levels, z, text = cell_matrix(result, row_index, value)
    scale = {"accuracy": {"colorscale": "Viridis", "zmin": 0, "zmax": 100,
                          "colorbar_title": "accuracy %"},
             "ECE": {"colorscale": "Magma", "reversescale": True, "zmin": 0, "zmax": 1,
                     "colorbar_title": "ECE"}}.get(value)
    if scale is None:      # the gain: diverging around 0
        top = max([abs(v) for r in z for v in r if v == v] or [1.0])
        scale = {"colorscale": "RdBu", "zmid": 0, "zmin": -top, "zmax": top,
                 "colorbar_title": "gain (points)"}
    row = result["rows"][row_index]
    fig = go.Figure(go.Heatmap(z=z, x=[f"severity {lv}" for lv in levels], y=types, text=text,
                               texttemplate="%{text}", textfont={"size": CELL_TEXT_PX},
                               hovertemplate="%{y}, %{x}: %{z:.3f}<extra></extra>", **scale))
    fig.update_layout(title=f"{row_label(row)}: {value} ({result['n_images']} test images)",
                      yaxis_autorange="reversed", **heatmap_size(len(types)))
    return fig


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


def bd_ecdf(report: dict):
    """The BD ECDFs of a boundary table (``boundaries_<task>_<source>_<target>.json`` with its
    per-image records), as the ``bd`` paper figure draws them: three panels (BD of the source,
    BD of the target, IBD), each the ECDF along random and along RA directions, x on a log
    axis in [0,1]-pixel L2, y the fraction of all images at most x (censored images count in
    the denominator, so a curve ending below 1 shows how many never crossed)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots


    pair = report["pairs"][0]
    src, tgt = pair["source"], pair["target"]
    quantities = [f"BD({src})", f"BD({tgt})", f"IBD({src}, {tgt})"]
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, subplot_titles=quantities,
                        horizontal_spacing=0.04)
    for k, (direction, label) in enumerate(DIRECTION_LABELS.items()):
        bd_s = [r["bd"][src][direction] for r in report["records"]]
        bd_t = [r["bd"][tgt][direction] for r in report["records"]]
        ibd = [abs(a - b) if not (math.isnan(a) or math.isnan(b)) else math.nan
               for a, b in zip(bd_s, bd_t)]
        for col, values in enumerate((bd_s, bd_t, ibd), start=1):
            xs, fs = ecdf(values)
            censored = int(sum(math.isnan(v) for v in values))
            name = f"{label} ({censored} censored)" if censored else label
            fig.add_trace(go.Scatter(
                x=xs, y=fs, mode="lines", line={"shape": "hv", "color": LINE_COLOURS[k],
                                                "dash": "solid" if k == 0 else "dash"},
                name=name, legendgroup=direction, showlegend=col == 1,
                hovertemplate="%{y:.0%} of images at most %{x:.3g}<extra>" + name + "</extra>"),
                row=1, col=col)
    fig.update_xaxes(type="log", title_text="distance ([0,1]-pixel L2)")
    fig.update_yaxes(range=[0, 1.02], row=1, col=1, title_text="fraction of images")
    method = "exact region walk" if report.get("method") == "exact" else "sampled search"
    fig.update_layout(title=f"{report['task']}: BD / IBD along RA vs random directions, "
                            f"{pair['selected']} images ({src} vs {tgt}; {method})",
                      legend={"orientation": "h", "y": -0.25}, height=380,
                      margin={"t": 80, "b": 90})
    return fig


def margin_scatter(frame, metric: str, classifier: str, input_name: str,
                   lower_better: bool | None = None, row: dict | None = None):
    """Per image (rows of :func:`analysis.explore.agreement_view.scatter_frame`): ``metric`` on
    the x axis, ``classifier``'s logit margin z_y - max_{k≠y} z_k on the y axis, right (blue
    circle) or wrong (orange cross) in two traces; each point's ``customdata`` is its test-image
    index (the page opens it in Compare). ``row``: the agreement table's row, for the title."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for right, name, colour, symbol in ((True, "right", LINE_COLOURS[0], "circle"),
                                        (False, "wrong", LINE_COLOURS[1], "x")):
        part = frame[frame["correct"] == right]
        fig.add_trace(go.Scatter(
            x=part[metric], y=part["margin"], mode="markers", name=f"{classifier} {name}",
            customdata=part["index"], marker={"color": colour, "symbol": symbol, "size": 7,
                                              "opacity": 0.7},
            hovertemplate=f"test image %{{customdata}}<br>{metric} %{{x:.4g}}<br>"
                          "margin %{y:.3f}<extra></extra>"))
    arrow = "" if lower_better is None else (" (lower is better)" if lower_better else
                                             " (higher is better)")
    title = f"{metric} against the margin of {classifier} on {input_name}, {len(frame):,} images"
    if row is not None:
        rho = row["spearman_margin"]
        title += (f"<br><sup>Spearman rho of the oriented {metric} with the margin "
                  f"{rho['value']:.2f} [{rho['ci95'][0]:.2f}, {rho['ci95'][1]:.2f}]; "
                  f"AUROC {row['auroc']['value']:.2f}</sup>")
    fig.add_hline(y=0, line_width=1, line_dash="dot", line_color="#777")
    fig.update_layout(title=title, xaxis_title=metric + arrow,
                      yaxis_title=f"logit margin of {classifier}", height=480,
                      font={"size": 13}, clickmode="event+select", dragmode="pan",
                      legend={"orientation": "h", "y": -0.18},
                      margin={"l": 10, "r": 10, "t": 80, "b": 60})
    return fig
