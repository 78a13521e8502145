"""The trial screen: images (pixel-exact, nearest-neighbour scaled to fill the screen), each
answer button directly under what it chooses, "can't tell" centred, keyboard answers.

Streamlit has no key bindings; a small script (no external resources) listens for keys on
the page and clicks the answer button of the trial on screen. Buttons of a screen that is
being replaced (Streamlit marks them ``data-stale``) are hidden with the whole trial until the
new screen is complete, and keys are ignored meanwhile, so an answer always lands on the
trial whose images are on screen (tests/app/test_survey_browser.py probes it).
"""

from __future__ import annotations

import json

import streamlit as st

from analysis.explore.encoders import enlarge_png
from analysis.survey.content import render
from analysis.survey.design import QUESTIONS, REFERENCE

SCALE = 8  # the PNG's own nearest-neighbour scale; CSS scales it further, still pixelated
KEYS = {"2afc": {"ArrowLeft": "A", "1": "A", "ArrowRight": "B", "2": "B", " ": "tie", "3": "tie"},
        "label": {"ArrowLeft": "A", "1": "A", "ArrowRight": "B", "2": "B", "ArrowUp": "both",
                  "3": "both", "ArrowDown": "none", "0": "none"}}
KEYS["2afc-noref"] = KEYS["2afc"]
HINTS = {"A": "← or 1", "B": "→ or 2", "tie": "space or 3", "both": "↑ or 3", "none": "↓ or 0"}
LABELS = {"2afc": {"A": "A", "B": "B", "tie": "Can't tell"},
          "label": {"A": "Only A", "B": "Only B", "both": "Both", "none": "Neither"}}
LABELS["2afc-noref"] = LABELS["2afc"]

CSS = """<style>
.st-key-trial img { image-rendering: pixelated; image-rendering: crisp-edges;
  width: 100%; max-height: max(160px, calc(100vh - 400px)); object-fit: contain; }
/* the columns stay side by side on a phone too: each button stays under its image */
.st-key-trial [data-testid="stHorizontalBlock"] { flex-wrap: nowrap; gap: 0.5rem; }
.st-key-trial [data-testid="stColumn"] { min-width: 0 !important; }
.st-key-trial button p { white-space: nowrap; }
.st-key-trial [data-testid="stElementContainer"]:has([data-testid="stText"]) { width: 100%; }
.st-key-trial [data-testid="stText"], .st-key-trial [data-testid="stText"] * { font-size: 1.6rem;
  font-weight: 600; text-align: center; width: 100%; display: block; }
.st-key-trial [data-testid="stMarkdownContainer"] p { text-align: center; }
/* while a new screen is arriving (any part of the trial still from the last run), the trial is
   hidden: the old answer buttons are never shown under new images, so a click always lands on
   the trial whose images are on screen */
.st-key-trial:has([data-stale="true"]) { visibility: hidden; }
.st-key-trial [data-stale="true"] button { pointer-events: none; }
.st-key-trial [data-testid="stElementToolbar"] { display: none; }
.st-key-trial [data-testid="stCaptionContainer"] { text-align: center; }
.st-key-trial [data-testid="stImageCaption"] { font-size: 1.1rem; }
</style>"""

SCRIPT = """<script>
(() => {
  window.__raKeyMap = %s;
  if (window.__raKeys) return;
  window.__raKeys = true;
  document.addEventListener('keydown', (e) => {
    const map = window.__raKeyMap || {};
    const answer = map[e.key];
    if (!answer || e.repeat || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable)) return;
    e.preventDefault();
    const trial = document.querySelector('.st-key-trial');
    if (!trial || trial.querySelector('[data-stale="true"]')) return;   // screen not complete
    const boxes = [...document.querySelectorAll('.st-key-trial [class*="st-key-answer_"]')]
      .filter(el => [...el.classList].some(c => c.startsWith('st-key-answer_')
                                              && c.endsWith('_' + answer)))
      .filter(el => !el.closest('[data-stale="true"]'));
    const button = boxes.length ? boxes[0].querySelector('button') : null;
    if (button && !button.disabled) { window.__raKeyAt = performance.now(); button.click(); }
  });
})();
</script>"""


def _button(col, trial, answer: str, kind: str, on_answer, disabled: bool) -> None:
    col.button(LABELS[kind][answer], key=f"answer_{trial.id}_{answer}", on_click=on_answer,
               args=(answer,), disabled=disabled, width="stretch")
    col.caption(HINTS[answer])


def trial_screen(workspace, kind: str, trial, on_answer=None) -> None:
    """One trial. ``on_answer(answer)`` is the buttons' callback (None: a preview, buttons
    disabled). Every image is computed before the first element is sent, so the screen
    changes in one step; buttons sit in a row with the images' column widths, each under
    the image it chooses."""
    disabled = on_answer is None
    if kind == "label":
        shown = [REFERENCE]
    else:
        shown = [trial.left, REFERENCE, trial.right] if kind == "2afc" else [trial.left, trial.right]
    png = {what: enlarge_png(render(workspace, trial.image_index, what), SCALE) for what in shown}
    st.html(CSS)
    if not disabled:
        st.html(SCRIPT % json.dumps(KEYS[kind]), unsafe_allow_javascript=True)
    st.subheader(QUESTIONS[kind])
    with st.container(key="trial"):
        if kind == "label":
            widths = [1, 1.2, 1]
            top = st.columns(widths, vertical_alignment="center")
            for col, side, name in ((top[0], "A", trial.left), (top[2], "B", trial.right)):
                col.markdown(f"**Label {side}**")
                col.text(name)
            top[1].image(png[REFERENCE], caption="the image", output_format="PNG", width="stretch")
            row = st.columns(widths)
            _button(row[0], trial, "A", kind, on_answer, disabled)
            both, none = row[1].columns(2)
            _button(both, trial, "both", kind, on_answer, disabled)
            _button(none, trial, "none", kind, on_answer, disabled)
            _button(row[2], trial, "B", kind, on_answer, disabled)
            return
        widths = [1, 1, 1] if kind == "2afc" else [2, 1, 2]
        top = st.columns(widths)
        top[0].image(png[trial.left], caption="A", output_format="PNG", width="stretch")
        if kind == "2afc":
            top[1].image(png[REFERENCE], caption="reference", output_format="PNG", width="stretch")
        top[2].image(png[trial.right], caption="B", output_format="PNG", width="stretch")
        row = st.columns(widths)
        _button(row[0], trial, "A", kind, on_answer, disabled)
        _button(row[1], trial, "tie", kind, on_answer, disabled)
        _button(row[2], trial, "B", kind, on_answer, disabled)
