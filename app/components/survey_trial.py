"""The trial screen: images (pixel-exact: small images nearest-neighbour enlarged to fill the
screen, images of the column's width or more (224 px) shown pixel for pixel, by the fit rule of
:func:`analysis.explore.encoders.fit_panel`), each answer button directly under what it
chooses, "can't tell" centred, keyboard answers. A visibility trial shows the blend at the
strength its staircase gives (:mod:`analysis.survey.visibility`) against the plain output.

Streamlit has no key bindings; a small script (no external resources) listens for keys on
the page and clicks the answer button of the trial on screen. Buttons of a screen that is
being replaced (Streamlit marks them ``data-stale``) are hidden with the whole trial until the
new screen is complete, and keys are ignored meanwhile, so an answer always lands on the
trial whose images are on screen (tests/app/test_survey_browser.py probes it).
"""

from __future__ import annotations

import json

import streamlit as st

from analysis.explore.encoders import fit_panel, panel_png
from analysis.survey.content import render, render_blend
from analysis.survey.design import QUESTION_ODDITY, QUESTIONS, REFERENCE
from analysis.survey.visibility import SLOTS

SCALE = 8  # the PNG's nearest-neighbour scale where it fits (then CSS scales it, pixelated)
KEYS = {"2afc": {"ArrowLeft": "A", "1": "A", "ArrowRight": "B", "2": "B", " ": "tie", "3": "tie"},
        "label": {"ArrowLeft": "A", "1": "A", "ArrowRight": "B", "2": "B", "ArrowUp": "both",
                  "3": "both", "ArrowDown": "none", "0": "none"}}
KEYS["2afc-noref"] = KEYS["2afc"]
KEYS["visibility2"] = {"ArrowLeft": "A", "1": "A", "ArrowRight": "B", "2": "B"}
KEYS["visibility3"] = {"ArrowLeft": "A", "1": "A", "ArrowDown": "B", "2": "B",
                       "ArrowRight": "C", "3": "C"}
HINTS = {"A": "← or 1", "B": "→ or 2", "tie": "space or 3", "both": "↑ or 3", "none": "↓ or 0",
         "C": "→ or 3"}
HINTS3 = {"A": "← or 1", "B": "↓ or 2", "C": "→ or 3"}   # a 3AFC visibility trial
LABELS = {"2afc": {"A": "A", "B": "B", "tie": "Can't tell"},
          "label": {"A": "Only A", "B": "Only B", "both": "Both", "none": "Neither"}}
LABELS["2afc-noref"] = LABELS["2afc"]
LABELS["visibility"] = {k: k for k in SLOTS}

# small images: CSS enlarges them further to fill the column, nearest neighbour
STRETCH = """<style>
.st-key-trial img { image-rendering: pixelated; image-rendering: crisp-edges;
  width: 100%; max-height: max(160px, calc(100vh - 400px)); object-fit: contain; }
</style>"""
CSS = """<style>
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


def _button(col, trial, answer: str, kind: str, on_answer, disabled: bool,
            hints: dict = HINTS) -> None:
    col.button(LABELS[kind][answer], key=f"answer_{trial.id}_{answer}", on_click=on_answer,
               args=(answer,), disabled=disabled, width="stretch")
    col.caption(hints[answer])


def _pngs(images: dict) -> tuple[dict, object]:
    """PNGs of ``images`` (name -> (H, W[, 3]) in [0, 1]) by the fit rule, and the fit."""
    side = next(iter(images.values())).shape[1]
    fit = fit_panel(side, SCALE)
    return {k: panel_png(v, fit) for k, v in images.items()}, fit


def _image(col, png: bytes, caption: str, fit) -> None:
    """An image: stretched (pixelated, by CSS) when enlarged, else exactly ``fit.width`` px."""
    col.image(png, caption=caption, output_format="PNG",
              width="stretch" if fit.scale >= 2 else fit.width)


def visibility_screen(workspace, trial, strength: float, on_answer, disabled: bool) -> None:
    """A visibility trial: 2AFC with the plain output as reference (which of A, B differs from
    it?) or 3AFC oddity (which of A, B, C differs from the other two?); the blend at
    ``strength`` sits in the trial's ``slot``, the plain output in the others."""
    m = int((trial.payload or {}).get("m", 2))
    slot = (trial.payload or {}).get("slot", "A")
    plain = render(workspace, trial.image_index, trial.left)
    images = {"plain": plain,
              "blend": render_blend(workspace, trial.image_index, trial.left, trial.right,
                                    strength)}
    png, fit = _pngs(images)
    st.html(CSS)
    if fit.scale >= 2:
        st.html(STRETCH)
    if not disabled:
        st.html(SCRIPT % json.dumps(KEYS[f"visibility{m}"]), unsafe_allow_javascript=True)
    st.subheader(QUESTIONS["visibility"] if m == 2 else QUESTION_ODDITY)
    hints = HINTS if m == 2 else HINTS3
    with st.container(key="trial"):
        slots = SLOTS[:m]
        widths = [1, 1, 1]
        top = st.columns(widths)
        places = {"A": 0, "B": 2} if m == 2 else {"A": 0, "B": 1, "C": 2}
        if m == 2:
            _image(top[1], png["plain"], "reference", fit)
        for k in slots:
            _image(top[places[k]], png["blend" if k == slot else "plain"], k, fit)
        row = st.columns(widths)
        for k in slots:
            _button(row[places[k]], trial, k, "visibility", on_answer, disabled, hints)


def trial_screen(workspace, kind: str, trial, on_answer=None, strength: float = 1.0) -> None:
    """One trial. ``on_answer(answer)`` is the buttons' callback (None: a preview, buttons
    disabled); ``strength``: a visibility trial's blend a. Every image is computed before
    the first element is sent, so the screen changes in one step; buttons sit in a row with
    the images' column widths, each under the image it chooses."""
    disabled = on_answer is None
    if kind == "visibility":
        visibility_screen(workspace, trial, strength, on_answer, disabled)
        return
    if kind == "label":
        shown = [REFERENCE]
    else:
        shown = [trial.left, REFERENCE, trial.right] if kind == "2afc" else [trial.left, trial.right]
    png, fit = _pngs({what: render(workspace, trial.image_index, what) for what in shown})
    st.html(CSS)
    if fit.scale >= 2:
        st.html(STRETCH)
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
            _image(top[1], png[REFERENCE], "the image", fit)
            row = st.columns(widths)
            _button(row[0], trial, "A", kind, on_answer, disabled)
            both, none = row[1].columns(2)
            _button(both, trial, "both", kind, on_answer, disabled)
            _button(none, trial, "none", kind, on_answer, disabled)
            _button(row[2], trial, "B", kind, on_answer, disabled)
            return
        widths = [1, 1, 1] if kind == "2afc" else [2, 1, 2]
        top = st.columns(widths)
        _image(top[0], png[trial.left], "A", fit)
        if kind == "2afc":
            _image(top[1], png[REFERENCE], "reference", fit)
        _image(top[2], png[trial.right], "B", fit)
        row = st.columns(widths)
        _button(row[0], trial, "A", kind, on_answer, disabled)
        _button(row[1], trial, "tie", kind, on_answer, disabled)
        _button(row[2], trial, "B", kind, on_answer, disabled)
