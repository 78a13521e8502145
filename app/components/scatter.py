"""The t-SNE scatter as a Streamlit v2 component: drawn on a canvas in the page itself (no
iframe, no chart library to load, nothing from a CDN). Hovering shows the point's image; a
drag selects a box (or, in lasso mode, a free-hand lasso) and returns its polygon in data
coordinates; a click on a point returns that point; a double-click clears.

The component only reports the polygon or the point; which points a polygon encloses is
decided in Python by :func:`analysis.explore.tsne_chart.polygon_images`, so the list below
the chart is computed the same way a test recounts it. The polygon (data units), the picked
point and the axis mapping are also written on the canvas (``data-polygon``, ``data-pick``,
``data-domain``) for the browser tests.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis.explore.tsne_chart import scatter_payload

_CSS = """
.ra-scatter {font: 13px sans-serif; color: var(--st-text-color, #31333f);}
.ra-scatter canvas {display: block; max-width: 100%; height: auto; cursor: crosshair; touch-action: none;
                  border: 1px solid #e6e6e6; background: #fff;}
.ra-scatter .tip {position: fixed; pointer-events: none; background: #fff; border: 1px solid #999;
                padding: 4px; display: none; z-index: 1000; font-size: 12px;}
.ra-scatter .tip img {width: 112px; height: auto; image-rendering: pixelated; display: block;}
.ra-scatter .legend {display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 4px 0;}
.ra-scatter .title {font-weight: 600; margin: 2px 0 4px 0;}
"""

_JS = """
const MARKS = ['\u25cf', '\u271a', '\u25c6', '\u25a0', '\u25b2', '\u25bc', '\u25c0', '\u25b6'];

function mark(ctx, shape, x, y, r) {
  ctx.beginPath();
  switch (shape % 8) {
    case 0: ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill(); return;
    case 1: ctx.lineWidth = 2; ctx.moveTo(x - r, y); ctx.lineTo(x + r, y);
            ctx.moveTo(x, y - r); ctx.lineTo(x, y + r); ctx.stroke(); return;
    case 2: ctx.moveTo(x, y - r * 1.3); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r * 1.3);
            ctx.lineTo(x - r, y); break;
    case 3: ctx.rect(x - r * 0.9, y - r * 0.9, 1.8 * r, 1.8 * r); break;
    case 4: ctx.moveTo(x, y - r * 1.2); ctx.lineTo(x + r, y + r); ctx.lineTo(x - r, y + r); break;
    case 5: ctx.moveTo(x, y + r * 1.2); ctx.lineTo(x + r, y - r); ctx.lineTo(x - r, y - r); break;
    case 6: ctx.moveTo(x - r * 1.2, y); ctx.lineTo(x + r, y - r); ctx.lineTo(x + r, y + r); break;
    default: ctx.moveTo(x + r * 1.2, y); ctx.lineTo(x - r, y - r); ctx.lineTo(x - r, y + r);
  }
  ctx.closePath(); ctx.fill();
}

function inside(poly, x, y) {          // even-odd ray casting, for the highlight only
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) c = !c;
  }
  return c;
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  let root = parentElement.querySelector('.ra-scatter');
  if (!root) {
    root = document.createElement('div'); root.className = 'ra-scatter';
    parentElement.appendChild(root);
  }
  root.innerHTML = '';
  const p = data.points, W = data.width, H = data.height, PAD = 14;
  const title = document.createElement('div'); title.className = 'title';
  title.textContent = data.title; root.appendChild(title);
  const canvas = document.createElement('canvas');
  canvas.width = W; canvas.height = H; root.appendChild(canvas);
  const tip = document.createElement('div'); tip.className = 'tip'; root.appendChild(tip);
  const LEGENDS = [['class (colour)', data.class_legend], ['source (marker)', data.source_legend]];
  for (const [heading, items] of LEGENDS) {
    const row = document.createElement('div'); row.className = 'legend';
    const label = document.createElement('i'); label.textContent = heading + ':';
    row.appendChild(label);
    for (const [text, colour, shape] of items) {
      const s = document.createElement('span');
      s.innerHTML = '<b style="color:' + colour + '">' + MARKS[shape % 8] + '</b> ';
      s.appendChild(document.createTextNode(text)); row.appendChild(s);
    }
    root.appendChild(row);
  }
  const [x0, x1, y0, y1] = data.domain;
  const sx = x => PAD + (x - x0) / (x1 - x0) * (W - 2 * PAD);
  const sy = y => H - PAD - (y - y0) / (y1 - y0) * (H - 2 * PAD);
  const ix = px => x0 + (px - PAD) / (W - 2 * PAD) * (x1 - x0);
  const iy = py => y0 + (H - PAD - py) / (H - 2 * PAD) * (y1 - y0);
  canvas.dataset.domain = JSON.stringify([x0, x1, y0, y1, PAD, W, H]);
  const kept = data.selection || null;          // the selection of the last run, kept
  let poly = kept && kept.polygon ? kept.polygon : null, path = null;
  let pick = kept && 'pick' in kept ? kept.pick : null;
  canvas.dataset.polygon = JSON.stringify(poly);
  canvas.dataset.pick = pick === null ? 'null' : String(pick);
  const ctx = canvas.getContext('2d');

  function draw() {
    ctx.clearRect(0, 0, W, H);
    const live = path && path.length > 2 ? path.map(([a, b]) => [ix(a), iy(b)]) : poly;
    for (let k = 0; k < p.x.length; k++) {
      const on = !live || inside(live, p.x[k], p.y[k]);
      ctx.globalAlpha = on ? p.alpha[k] : 0.12;
      ctx.fillStyle = ctx.strokeStyle = p.colour[k];
      mark(ctx, p.shape[k], sx(p.x[k]), sy(p.y[k]), 3.5);
    }
    ctx.globalAlpha = 1;
    if (pick !== null) {               // the clicked point's image: a ring on each of its points
      ctx.strokeStyle = '#000'; ctx.lineWidth = 2;
      for (let k = 0; k < p.x.length; k++) {
        if (p.index[k] !== pick) continue;
        ctx.beginPath(); ctx.arc(sx(p.x[k]), sy(p.y[k]), 7, 0, 2 * Math.PI); ctx.stroke();
      }
    }
    const outline = path || (poly && poly.map(([a, b]) => [sx(a), sy(b)]));
    if (outline && outline.length > 1) {
      ctx.beginPath(); ctx.strokeStyle = '#333'; ctx.lineWidth = 1.5;
      ctx.setLineDash([5, 3]); ctx.moveTo(outline[0][0], outline[0][1]);
      for (const [a, b] of outline.slice(1)) ctx.lineTo(a, b);
      if (!path || data.mode === 'box') ctx.closePath();
      ctx.stroke(); ctx.setLineDash([]);
    }
  }

  function at(e) {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * W / r.width, (e.clientY - r.top) * H / r.height];
  }

  function hover(e) {
    const [a, b] = at(e);
    const best = nearest(a, b);
    if (best < 0) { tip.style.display = 'none'; return; }
    tip.innerHTML = (p.image[best] ? '<img src="' + p.image[best] + '">' : '') +
      '<div>test image ' + p.index[best] + '</div><div>class ' + p.label[best] +
      '</div><div>source ' + p.source[best] + '</div>';
    tip.style.left = (e.clientX + 14) + 'px'; tip.style.top = (e.clientY + 14) + 'px';
    tip.style.display = 'block';
  }

  const CLICK = 3;                     // a press that never moves this far (px) is a click
  let start = null, far = false;       // far: the press moved (a closed lasso ends at its start)

  function nearest(a, b) {             // the point drawn within 7 canvas px, or -1
    let best = -1, dist = 49;
    for (let k = 0; k < p.x.length; k++) {
      const d = (sx(p.x[k]) - a) ** 2 + (sy(p.y[k]) - b) ** 2;
      if (d <= dist) { dist = d; best = k; }
    }
    return best;
  }

  function report(selection) {
    poly = selection && selection.polygon ? selection.polygon : null;
    pick = selection && 'pick' in selection ? selection.pick : null;
    canvas.dataset.polygon = JSON.stringify(poly);
    canvas.dataset.pick = pick === null ? 'null' : String(pick);
    draw();
    setStateValue('selection', selection);
  }

  canvas.onpointerdown = e => {
    start = at(e); path = [start]; far = false; tip.style.display = 'none';
    canvas.setPointerCapture(e.pointerId);
  };
  canvas.onpointermove = e => {
    if (!path) { hover(e); return; }
    const here = at(e);
    far = far || Math.hypot(here[0] - start[0], here[1] - start[1]) >= CLICK;
    if (data.mode === 'box') {
      path = [start, [here[0], start[1]], here, [start[0], here[1]]];
    } else path.push(here);
    draw();
  };
  canvas.onpointerleave = () => { tip.style.display = 'none'; };
  canvas.onpointerup = e => {
    if (!path) return;
    const end = at(e), done = path;
    path = null;
    if (!far) {
      const k = nearest(end[0], end[1]);
      if (k >= 0) report({pick: p.index[k]}); else draw();
    } else if (done.length > 2) {
      report({polygon: done.map(([a, b]) => [ix(a), iy(b)])});
    } else draw();
  };
  canvas.ondblclick = () => report(null);
  draw();
}
"""

_scatter = st.components.v2.component("ra_explorer_scatter", css=_CSS, js=_JS)


def tsne_scatter(frame: pd.DataFrame, report: dict, contrast: str | None, key: str,
                 mode: str = "box", width: int = 900, height: int = 520) -> dict | None:
    """Draw ``frame`` (rows of :func:`analysis.explore.tsne_chart.tsne_frame`) on the canvas
    with ``mode`` ("box" or "lasso") selection; the selection: {"polygon": [[x, y], ...]} in
    t-SNE coordinates, {"pick": test-image index} for a clicked point, or None before one is
    made or after a double-click cleared it."""
    kept = (st.session_state.get(key) or {}).get("selection")
    payload = scatter_payload(frame, report, contrast, mode, width, height)
    result = _scatter(key=key, data={**payload, "selection": kept},
                      on_selection_change=lambda: None)
    return getattr(result, "selection", None)
