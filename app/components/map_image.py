"""A clickable, pixel-exact image drawn in the page itself: the Boundaries page's decision maps.

A Streamlit v2 component (no iframe, nothing loaded from anywhere). It replaces
``streamlit_image_coordinates``, whose every map was an iframe with its own document and
its own copy of React: four maps were four documents to load, lay out and keep in sync, on
a machine whose two cores the browser shares with the server. A click reports where the
image was hit, as {"x", "y", "width", "height"} in displayed (CSS) pixels, the same
convention :func:`analysis.explore.plane.plane_point_at` inverts.

The image is shown at the column's width, square, with nearest-neighbour scaling; it is
sent as a PNG data URL (a 384 x 384 map is a few kB: a map is made of flat class regions).
A ring marks the point shown below the maps (the grid point last clicked or set by the
sliders); :func:`marker_script` moves it on every map without redrawing them.
"""

from __future__ import annotations

import io

import numpy as np
import streamlit as st

from analysis.explore.tsne_chart import png_data_url as bytes_data_url

_CSS = """
.ra-map {position: relative;}
.ra-map img {display: block; width: 100%; height: auto; image-rendering: pixelated;
             cursor: crosshair; user-select: none; -webkit-user-drag: none;}
.ra-map .ra-marker {position: absolute; width: 16px; height: 16px; margin: -8px 0 0 -8px;
             border: 2px solid #fff; border-radius: 50%; box-shadow: 0 0 0 2px #000;
             pointer-events: none; box-sizing: border-box;}
"""

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('.ra-map');
  if (!root) {
    root = document.createElement('div'); root.className = 'ra-map';
    parentElement.appendChild(root);
  }
  let img = root.querySelector('img');
  if (!img) { img = document.createElement('img'); root.appendChild(img); }
  if (img.getAttribute('src') !== data.src) img.setAttribute('src', data.src);
  img.alt = data.alt;
  img.draggable = false;
  let mark = root.querySelector('.ra-marker');
  if (!mark) {
    mark = document.createElement('div'); mark.className = 'ra-marker'; root.appendChild(mark);
  }
  const m = data.marker;
  mark.style.display = m ? 'block' : 'none';
  if (m) { mark.style.left = (100 * m[0]) + '%'; mark.style.top = (100 * m[1]) + '%'; }
  img.onclick = e => {
    const r = img.getBoundingClientRect();
    setTriggerValue('click', {x: e.clientX - r.left, y: e.clientY - r.top,
                              width: r.width, height: r.height});
  };
}
"""

# isolate_styles=False: the image sits in the page's DOM (no shadow root), so the page's
# scripts and the browser tests reach it with a plain selector (".st-key-KEY .ra-map img")
_map_image = st.components.v2.component("ra_explorer_map_image", css=_CSS, js=_JS,
                                        isolate_styles=False)


def png_data_url(pixels: np.ndarray) -> str:
    """An (H, W, 3) uint8 image as a PNG data URL (palette-coded where it has at most 256
    colours, as a decision map has)."""
    from PIL import Image

    rgb = pixels.astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    colours, codes = np.unique(packed, return_inverse=True)
    if len(colours) <= 256:      # exact: each colour its own palette entry
        image = Image.fromarray(codes.reshape(pixels.shape[:2]).astype(np.uint8), mode="P")
        palette = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=1)
        image.putpalette(palette.astype(np.uint8).tobytes())
    else:
        image = Image.fromarray(np.ascontiguousarray(pixels))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return bytes_data_url(buffer.getvalue())


def marker_at(dmap, u: float, v: float) -> tuple[float, float]:
    """Where the grid point nearest (u, v) sits in the image :func:`map_pixels` draws, as
    fractions (x from the left, y from the top) of its width and height: the centre of
    that grid point's block."""
    res = len(dmap.us)
    j = int(np.argmin(np.abs(dmap.us.numpy() - u)))
    i = res - 1 - int(np.argmin(np.abs(dmap.vs.numpy() - v)))
    return (j + 0.5) / res, (i + 0.5) / res


def marker_script(marker: tuple[float, float]) -> str:
    """A script that moves the ring of every map to ``marker`` (:func:`marker_at`): the
    sliders change the point in a fragment, without redrawing the maps."""
    return ("<script>document.querySelectorAll('.ra-map .ra-marker').forEach(m => {"
            f"m.style.display = 'block'; m.style.left = '{100 * marker[0]:.4f}%'; "
            f"m.style.top = '{100 * marker[1]:.4f}%'; }});</script>")


def scroll_into_view_script(selector: str, tag: str) -> str:
    """A script that scrolls the element at ``selector`` into view once every image in it
    has loaded (polled for up to 5 s): scrolling earlier would stop short of an image that
    arrives later. ``tag`` makes each script unique, so a repeated request runs again."""
    return (f"<script>/* {tag} */ (() => {{ const t0 = Date.now(); const go = () => {{"
            f" const el = document.querySelector({selector!r}); const imgs = el ?"
            " Array.from(el.querySelectorAll('img')) : [];"
            " if ((!el || !imgs.length || imgs.some(i => !i.complete)) && Date.now() - t0 < 5000)"
            " { setTimeout(go, 50); return; }"
            " if (el) el.scrollIntoView({block: 'nearest', behavior: 'smooth'}); };"
            " go(); })();</script>")


def map_image(pixels: np.ndarray, key: str, alt: str, on_click,
              marker: tuple[float, float] | None = None) -> None:
    """Show ``pixels`` ((H, W, 3) uint8) at the column's width, with a ring at ``marker``
    (:func:`marker_at`; None: none); a click calls ``on_click`` (no arguments) with the
    click, {"x", "y", "width", "height"} in displayed pixels, at ``clicked_point(key)``."""
    _map_image(key=key, data={"src": png_data_url(pixels), "alt": alt,
                              "marker": list(marker) if marker else None},
               on_click_change=on_click)


def clicked_point(key: str) -> dict | None:
    """The click that the component ``key`` reported in this run (inside ``on_click``), or
    None."""
    state = st.session_state.get(key)
    if state is None:
        return None
    value = state.get("click") if hasattr(state, "get") else getattr(state, "click", None)
    return value if isinstance(value, dict) else None
