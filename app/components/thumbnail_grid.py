"""A page of thumbnails, each with its caption and an "Open in Compare" button, as one
element: the Gallery's and Features' image lists.

As ``st.image`` + ``st.button`` per thumbnail, a page of 24 was 24 image elements whose PNGs
the browser fetched one request each after the run, 24 button widgets and 4 rows of
columns. Here it is one Streamlit v2 component (drawn in the page, no iframe, nothing
loaded from anywhere) whose thumbnails travel inside the element as PNG data URLs. A click on
a thumbnail or its button reports that test image's index (a trigger value: it holds for one
run).
"""

from __future__ import annotations

import streamlit as st

from analysis.explore.tsne_chart import png_data_url

_CSS = """
.ra-grid {display: grid; gap: 0.75rem 1rem; margin: 0.25rem 0 1rem 0;}
.ra-grid figure {margin: 0; min-width: 0;}
.ra-grid img {display: block; width: 100%; height: auto; image-rendering: pixelated;
              cursor: pointer; border-radius: 0.25rem;}
.ra-grid.ra-smooth img {image-rendering: auto;}
.ra-grid figcaption {font-size: 0.8rem; color: rgba(49, 51, 63, 0.6); margin: 0.2rem 0;
                     text-align: center; overflow-wrap: anywhere;}
.ra-grid button {width: 100%; font: inherit; font-size: 0.85rem; padding: 0.2rem 0.4rem;
                 border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.5rem;
                 background: #fff; color: inherit; cursor: pointer;}
.ra-grid button:hover {border-color: #ff4b4b; color: #ff4b4b;}
"""

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('.ra-grid');
  if (!root) {
    root = document.createElement('div'); root.className = 'ra-grid';
    parentElement.appendChild(root);
  }
  // this render's trigger (the handlers below call it, so a page kept as it is still reports
  // through the newest one)
  root._open = index => setTriggerValue('open', index);
  const signature = data.signature;
  if (root.dataset.signature === signature) return;   // the same page: nothing to redraw
  root.dataset.signature = signature;
  root.classList.toggle('ra-smooth', data.smooth);
  root.style.gridTemplateColumns = 'repeat(' + data.columns + ', minmax(0, 1fr))';
  root.replaceChildren();
  for (const item of data.items) {
    const figure = document.createElement('figure');
    figure.dataset.index = String(item.index);
    const img = document.createElement('img');
    img.src = item.src; img.alt = item.caption; img.draggable = false;
    const caption = document.createElement('figcaption');
    caption.textContent = item.caption;
    const button = document.createElement('button');
    button.type = 'button'; button.textContent = data.button;
    const open = () => root._open(item.index);
    img.onclick = open; button.onclick = open;
    figure.append(img, caption, button);
    root.appendChild(figure);
  }
}
"""

# isolate_styles=False: in the page's DOM, so the browser tests reach it with a selector
_grid = st.components.v2.component("ra_explorer_thumbnail_grid", css=_CSS, js=_JS,
                                   isolate_styles=False)


def thumbnail_grid(items: list[tuple[int, bytes, str]], key: str, columns: int,
                   on_open, button: str = "Open in Compare", smooth: bool = False) -> int | None:
    """Show ``items`` [(test index, PNG bytes, caption), ...] ``columns`` to a row, each as
    wide as its cell: enlarged pixels stay crisp, or, with ``smooth`` (thumbnails already
    downscaled), the browser resamples them smoothly. A click on one calls ``on_open`` (no
    arguments; :func:`opened_index` gives the index inside it) and the call returns that
    index in the run it causes (else None)."""
    shown = [{"index": int(i), "src": png_data_url(png), "caption": caption}
             for i, png, caption in items]
    signature = f"{columns}|{button}|{smooth}|" + "|".join(
        f"{d['index']}:{d['caption']}:{hash(d['src'])}" for d in shown)
    result = _grid(key=key, data={"items": shown, "columns": int(columns), "button": button,
                                  "smooth": bool(smooth), "signature": signature},
                   on_open_change=on_open)
    value = result.get("open") if hasattr(result, "get") else None
    return int(value) if value is not None else None


def opened_index(key: str) -> int | None:
    """Inside ``on_open``: the index the click reported."""
    state = st.session_state.get(key)
    value = state.get("open") if state is not None and hasattr(state, "get") else None
    return int(value) if value is not None else None
