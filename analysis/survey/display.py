"""The display check before a rater's first trial: is the browser resampling the stimuli?

The page measures ``devicePixelRatio`` (display scaling, and browser zoom in Chromium and
Firefox), ``visualViewport.scale`` (pinch / page zoom), the viewport in CSS pixels, the
outer/inner window width ratio (a browser-zoom estimate where the browser reports it), and
the rendered width of a calibration image of ``CALIBRATION_PX`` pixels set to the same
number of CSS pixels (CSS zoom shows there). From them::

    device_px_per_px = rendered_css_width / CALIBRATION_PX * devicePixelRatio * visual scale

the device pixels one image pixel covers. When it is not a whole number (within
``TOLERANCE``) the browser resamples every image at a fractional factor, so the rater sees
other stimuli than designed (1.25 at 125 % display scaling or zoom); 1, 2, 3 are exact
pixel repeats. A study's setting (``config["display_check"]``) says what follows:
``refuse`` (the rater is told why and sent to the panel's return URL), ``flag`` (the rater
goes on; the session is marked and the results page can leave it out) or ``ignore`` (no
check). The measurements are stored with the rater either way.
"""

from __future__ import annotations

import base64
import io
import json
import math

import numpy as np
from PIL import Image

from ..errors import RAExplorerError

POLICIES = ("flag", "refuse", "ignore")
DEFAULT_POLICY = "flag"
CALIBRATION_PX = 32
TOLERANCE = 0.02
FIELDS = {"dpr": (0.1, 16), "visual_scale": (0.1, 16), "outer_inner": (0.0, 16),
          "viewport_w": (1, 100_000), "viewport_h": (1, 100_000), "rendered_w": (0.1, 100_000)}
RULE = (f"a session is flagged when one image pixel does not cover a whole number of screen "
        f"pixels (devicePixelRatio x page zoom x the rendered size of a {CALIBRATION_PX}-px "
        f"calibration image, tolerance {TOLERANCE}): the browser resampled the stimuli")


def policy_of(config: dict | None) -> str:
    """A study's display-check setting ("ignore" for a study that names none)."""
    value = (config or {}).get("display_check", "ignore")
    return value if value in POLICIES else "ignore"


def check_policy(value: str) -> str:
    if value not in POLICIES:
        raise RAExplorerError(f"Unknown display-check setting {value!r}; use one of "
                              f"{', '.join(POLICIES)}.")
    return value


def parse(raw: str) -> dict:
    """The page's measurements (JSON text from the link) as numbers, each in its range; bad
    or missing values refused with a sentence."""
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise RAExplorerError("The display measurements could not be read; reload the page.")
    out = {}
    for name, (lo, hi) in FIELDS.items():
        v = data.get(name)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) \
                or not lo <= v <= hi:
            raise RAExplorerError("The display measurements could not be read; reload the page.")
        out[name] = float(v)
    return out


def device_px_per_px(m: dict) -> float:
    """Screen (device) pixels one image pixel covers."""
    return m["rendered_w"] / CALIBRATION_PX * m["dpr"] * m["visual_scale"]


def verdict(m: dict) -> tuple[bool, str]:
    """(passes, a sentence on what was measured)."""
    x = device_px_per_px(m)
    ok = round(x) >= 1 and abs(x - round(x)) <= TOLERANCE
    zoom = f", browser zoom about {m['outer_inner']:.0%}" if m["outer_inner"] > 0 else ""
    return ok, (f"one image pixel covers {x:.3g} screen pixels (devicePixelRatio "
                f"{m['dpr']:g}, page zoom {m['visual_scale']:g}{zoom}, viewport "
                f"{m['viewport_w']:.0f} x {m['viewport_h']:.0f} CSS px)")


def record(m: dict, policy: str) -> dict:
    """What is stored with the rater: the measurements, the factor and the outcome
    (``ok``, ``flagged`` or ``refused``)."""
    ok, sentence = verdict(m)
    outcome = "ok" if ok else ("refused" if policy == "refuse" else "flagged")
    return {**m, "device_px_per_px": round(device_px_per_px(m), 4), "outcome": outcome,
            "sentence": sentence}


def keep_rows(rows: list[dict]) -> list[dict]:
    """Answer rows without those of sessions whose display was flagged."""
    return [r for r in rows if (r.get("display") or {}).get("outcome") != "flagged"]


# the page's script: measure once the calibration image is laid out, then reload the page
# with the measurements in the link (the server stores them and removes them from it)
SCRIPT = """<script>
(() => {
  const img = document.getElementById('ra-calibration');
  const send = () => {
    const r = img.getBoundingClientRect();
    const vv = window.visualViewport;
    const m = {dpr: window.devicePixelRatio || 1, visual_scale: vv ? vv.scale : 1,
               outer_inner: window.outerWidth && window.innerWidth
                            ? window.outerWidth / window.innerWidth : 0,
               viewport_w: window.innerWidth, viewport_h: window.innerHeight,
               rendered_w: r.width};
    const u = new URL(window.location.href);
    u.searchParams.set('display', JSON.stringify(m));
    window.location.replace(u.toString());
  };
  if (img.complete) setTimeout(send, 300); else img.addEventListener('load', () => setTimeout(send, 300));
})();
</script>"""


def calibration_uri() -> str:
    """A ``CALIBRATION_PX`` square black-and-white checkerboard of single pixels as a PNG data
    URI (any resampling of it shows as grey or uneven stripes)."""
    board = (np.indices((CALIBRATION_PX, CALIBRATION_PX)).sum(0) % 2 * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(board).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def calibration_html(data_uri: str | None = None) -> str:
    """The calibration image (``CALIBRATION_PX`` square, shown at as many CSS pixels, never
    scaled by the page) and the measuring script."""
    data_uri = data_uri or calibration_uri()
    return (f'<img id="ra-calibration" src="{data_uri}" width="{CALIBRATION_PX}" '
            f'height="{CALIBRATION_PX}" style="width:{CALIBRATION_PX}px;height:'
            f'{CALIBRATION_PX}px;max-width:none;image-rendering:pixelated" alt="calibration">'
            + SCRIPT)
