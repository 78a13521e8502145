"""The docs site's generated parts (a mkdocs hook, see mkdocs.yml): what the code and the data
already say is rendered from them at build time, never copied by hand.

A page asks for a part with a line ``<!-- generate: NAME -->``; :func:`on_page_markdown`
replaces it with the Markdown of ``GENERATORS[NAME]``:

``figure-kinds``  the ``figure`` kinds of :data:`analysis.reporting.paper.KINDS` with what each
                  reads and shows (the builders' docstrings)
``cli``           every verb's ``--help``, walked from :func:`analysis.cli.main.build_parser`
``zoo``           the model cards in ``checkpoints/`` and its collections
``results``       each result file of ``results/`` with the command, images and commit of its
                  provenance record
``floors``        the import floors of ``tests/test_layers.py``
``api-top``       ``::: analysis.api`` when the package has that module (the reference of
                  ``import analysis as ra``), else nothing

``python scripts/docs_hooks.py NAME`` prints one part (for a look without building the site).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _importable() -> None:
    """The checkout on sys.path (mkdocs restores sys.path after loading a hook)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

MARKER = re.compile(r"^<!-- generate: ([a-z-]+) -->$", re.M)
HELP_COLUMNS = "100"   # argparse wraps help to $COLUMNS: one width for every build


def _cell(text) -> str:
    """One Markdown table cell: a single line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _rst_to_md(text: str) -> str:
    """Docstring markup as Markdown: ``code`` -> `code`, :func:`x` -> `x`."""
    text = re.sub(r":[a-z]+:`~?\.*([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


# ------------------------------------------------------------------------------ figure kinds

def figure_kinds() -> str:
    from analysis.reporting.paper import KINDS

    rows = ["| kind | shows | module: what it reads |", "| --- | --- | --- |"]
    for kind, build in KINDS.items():
        module = inspect.getmodule(build)
        text = inspect.getdoc(module) or ""
        reads = text.split("\n\n")[0]
        shows = inspect.getdoc(build) or text.split("\n\n", 1)[-1]
        rows.append(f"| `{kind}` | {_cell(_rst_to_md(shows))} "
                    f"| `{module.__name__}`: {_cell(_rst_to_md(reads))} |")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------- CLI

def _visible_verbs(parser: argparse.ArgumentParser):
    """(name, sub-parser) of each verb ``parser`` lists in its help (hidden aliases left out)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for shown in action._choices_actions:
                if shown.help != argparse.SUPPRESS:
                    yield shown.dest, action.choices[shown.dest]


def _help_sections(parser: argparse.ArgumentParser, path: list[str], level: int) -> list[str]:
    out = [f"{'#' * level} `{' '.join(path)}`" if path else "", "",
           "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in _visible_verbs(parser):
        out += _help_sections(sub, [*path, name], min(level + 1, 4) if path else 2)
    return out


def cli() -> str:
    os.environ["COLUMNS"] = HELP_COLUMNS
    from analysis.cli.main import build_parser

    parser = build_parser()
    lines = ["## `python -m analysis`", "", "```text", parser.format_help().rstrip(), "```", ""]
    for name, sub in _visible_verbs(parser):
        lines += _help_sections(sub, [name], 3)
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- zoo

def _card_rows(cards: list[dict], folder: Path) -> list[str]:
    from analysis.zoo.checkpoints import stored_outside, weights_file

    rows = []
    for c in cards:
        weights = c.get("weights") or {}
        path = weights_file(folder / f"{c['name']}.json", c)
        size = f"{path.stat().st_size / 2**20:.2f}" if path.is_file() else "-"
        stored = weights.get("dtype", "-") + (", outside" if stored_outside(c) else "")
        params = weights.get("num_parameters")
        seconds = sum(h.get("seconds", 0.0) for h in c.get("history") or [])
        m = c.get("metrics") or {}
        figures = []
        acc = m.get("test_accuracy")
        if isinstance(acc, dict) and acc:   # a processor without a source: every classifier
            figures.append(f"acc {100 * min(acc.values()):.1f}-{100 * max(acc.values()):.1f} % "
                           f"({len(acc)} classifiers)")
        elif isinstance(acc, (int, float)):
            on = f" on {c['source']}" if c.get("source") and c["kind"] == "processor" else ""
            figures.append(f"acc{on} {100 * acc:.2f} %")
        if m.get("test_pgd20_accuracy") is not None:
            figures.append(f"PGD-20 (eps {m.get('test_pgd20_eps')}) {100 * m['test_pgd20_accuracy']:.1f} %")
        if m.get("test_psnr") is not None:
            figures.append(f"PSNR {m['test_psnr']:.2f} dB")
        if m.get("test_ssim") is not None:
            figures.append(f"SSIM {m['test_ssim']:.4f}")
        if m.get("test_images"):
            figures.append(f"{m['test_images']:,} images")
        lam = c.get("lambda")
        rows.append(
            f"| `{c['name']}` | {c['kind']} | `{c['arch']}` | {_cell(c.get('task') or '-')} "
            f"| {_cell(c.get('method') or '-')}{'' if lam is None else f' (λ {lam:g})'} "
            f"| {_cell(c.get('source') or '-')} "
            f"| {'-' if params is None else f'{params:,}'} | {stored} | {size} "
            f"| {c.get('epochs', '-')} | {seconds / 3600:.2f} | {_cell('; '.join(figures) or '-')} |")
    return rows


def zoo() -> str:
    from analysis.config import checkpoints_dir
    from analysis.zoo.catalogue import (
        COLLECTIONS,
        absent_weights,
        find_checkpoints,
        nested_collection_dirs,
    )
    from analysis.zoo.checkpoints import load_card

    base = checkpoints_dir(ROOT / "checkpoints")
    places = [("The zoo", "`checkpoints/`", base)]
    places += [(f"Collection `{name}`", f"`checkpoints/{name}/`", base / name)
               for name in (*COLLECTIONS, "bases") if (base / name).is_dir()]
    places += [(f"Collection `{name}`", f"`checkpoints/{name}/`", place)
               for name, place in nested_collection_dirs(base).items()]
    head = ["| name | kind | arch | task | method | source | parameters | stored as | MiB "
            "| epochs | training (h) | test figures |",
            "| --- | --- | --- | --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- |"]
    out, total_seconds, total_bytes, count = [], 0.0, 0, 0
    for title, where, folder in places:
        cards = sorted(find_checkpoints(folder) + [load_card(folder / f"{n}.json")
                                                   for n in absent_weights(folder)],
                       key=lambda c: c["name"])   # cards of weights kept outside: listed too
        count += len(cards)
        total_seconds += sum(h.get("seconds", 0.0) for c in cards for h in c.get("history") or [])
        total_bytes += sum(p.stat().st_size for p in folder.glob("*.safetensors"))
        out += [f"### {title}", "", f"{len(cards)} checkpoints in {where}.", "", *head,
                *_card_rows(cards, folder), ""]
    summary = (f"{count} checkpoints, {total_bytes / 2**20:.1f} MiB of weights, "
               f"{total_seconds / 3600:.2f} hours of training time recorded in their cards "
               "(the sum of the per-epoch `seconds` of each card's `history`, validation "
               "included; the lambda and loss-weight selections record theirs in "
               "`results/lambda_selection.json` and `results/loss_weight_selection.json`).")
    return "\n".join([summary, "", *out])


# --------------------------------------------------------------------------------- results

def _commit(record: dict) -> str:
    git = record.get("git") or {}
    if git.get("commit"):
        return f"`{git['commit'][:10]}`" + (" (uncommitted changes)" if git.get("dirty") else "")
    if git.get("recorded_in"):
        return f"stored in `{git['recorded_in'][:10]}` (reconstructed)"
    return "-"


def _provenance_row(name: str, record: dict) -> str:
    images = record.get("n_images")
    images = f"{images:,} {record.get('split', '')}" if isinstance(images, int) else "-"
    wall = record.get("wall_seconds")
    how = "-" if wall is None else f"{wall:,.0f} s, {record.get('threads')} thread(s), {record.get('device')}"
    return (f"| `{name}` | `{_cell(record.get('command') or '-')}` | {images} | {_commit(record)} "
            f"| {how} |")


def results() -> str:
    import pyarrow.parquet as pq

    folder = ROOT / "results"
    head = ["| file | command | images | commit | wall time |", "| --- | --- | ---: | --- | --- |"]
    rows, keyed = [], []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("provenance"), dict):
            rows.append(_provenance_row(path.name, data["provenance"]))
        elif isinstance(data, dict):   # a record per key (the selections)
            for key, value in data.items():
                if isinstance(value, dict) and isinstance(value.get("provenance"), dict):
                    keyed.append(_provenance_row(f"{path.name}: {key}", value["provenance"]))
    tables = []
    for path in sorted(folder.glob("*.parquet")):
        raw = (pq.read_schema(path).metadata or {}).get(b"ra_explorer")
        record = json.loads(raw).get("provenance") if raw else None
        if isinstance(record, dict):
            tables.append(_provenance_row(path.name, record))
    figures = ["| figure | command | images | commit | reads |", "| --- | --- | ---: | --- | --- |"]
    for path in sorted((folder / "figures").glob("*.png")):
        from PIL import Image

        with Image.open(path) as image:
            raw = image.text.get("Description")
        record = json.loads(raw) if raw else {}
        images = record.get("n_images")
        read = ", ".join(f"`{name}`" for name in record.get("sources") or {}) or "the checkpoints"
        figures.append(f"| `figures/{path.stem}` | `{_cell(record.get('command') or '-')}` "
                       f"| {'-' if images is None else f'{images:,}'} | {_commit(record)} "
                       f"| {read} |")
    return "\n".join(["#### Result files", "", *head, *rows, "",
                      "#### Selections (one record per grid)", "", *head, *keyed, "",
                      "#### Per-image record tables (provenance in the Parquet metadata)", "",
                      *head, *tables, "",
                      "#### Figures (`results/figures/`: PNG, PDF and CSV; provenance in each "
                      "file's metadata)", "", *figures])


# ---------------------------------------------------------------------------------- floors

def floors() -> str:
    from tests.test_layers import FLOORS

    rows = ["| floor | modules |", "| ---: | --- |"]
    for number, prefixes in FLOORS:
        rows.append(f"| {number} | {', '.join(f'`{p}`' for p in prefixes)} |")
    return "\n".join(rows)


def api_top() -> str:
    package = ROOT / "analysis" / "api"
    if not package.is_dir():
        return "::: analysis.api" if (ROOT / "analysis" / "api.py").is_file() else ""
    names = ["analysis.api"] + [f"analysis.api.{p.stem}" for p in sorted(package.glob("*.py"))
                                if p.stem != "__init__"]
    return "\n\n".join(f"::: {name}" for name in names)


GENERATORS = {"figure-kinds": figure_kinds, "cli": cli, "zoo": zoo, "results": results,
              "floors": floors, "api-top": api_top}


def expand(markdown: str) -> str:
    """``markdown`` with every ``<!-- generate: NAME -->`` line replaced by its part."""
    _importable()
    def part(match):
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated part {name!r}; known: {', '.join(GENERATORS)}")
        return GENERATORS[name]()
    return MARKER.sub(part, markdown)


def on_page_markdown(markdown, page, config, files):   # the mkdocs hook
    return expand(markdown)


if __name__ == "__main__":
    _importable()
    print(GENERATORS[sys.argv[1]]())
