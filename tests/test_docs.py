"""The documentation, kept true: the site builds with warnings as errors, and every fenced
```python and ```bash block of README.md and docs/**/*.md runs as written.

Blocks run from the repository root, one process each (``bash -e -o pipefail -c`` /
``python -c``), with the project's interpreter first on PATH, in file order (a page's later
blocks may use what its earlier ones made: a test process first runs the blocks above its block
on the page that it has not run, since pytest-xdist may hand them to another worker). The line
just before a block (blank lines aside) may say how it runs:

``<!-- not-run: REASON -->``  skipped with REASON (the app server, long trainings, installs)
``<!-- small-data -->``       RA_DATASET=synthetic:n=64 and RA_CHECKPOINTS a tiny zoo made here

Every block sees ``$IMAGES`` (a 3-class ImageFolder of 32 px PNGs, ``train/`` and ``val/``),
``$ZOO`` (an empty folder for checkpoints, shared by the blocks), ``$CIFAR`` (a folder in
CIFAR-10's format) and ``$WEIGHTS`` (a torchvision ResNet-18 ``state_dict`` saved with
``torch.save``), ``RA_RESULTS`` pointing at a copy of ``results/`` and ``RA_RUNS`` at a
temporary folder. A block passes when it exits 0 without a traceback or a note that a verb or
option is spelt the old way, leaves the copy of ``results/`` byte-identical outside
``datasets/`` (own data writes there) and changes no file git tracks. A file a block names
and writes at the repository root that git neither tracks nor ignores (``survey export >
sr-pilot.csv``, as a reader would run it) is removed after it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK_LIMIT_S = 240   # a block should take under 60 s on a 2-core machine; 4x (the suite's
                      # parallel workers share the cores) fails it
SMALL_DATASET = "synthetic:n=64"
OPENING = re.compile(r"^(`{3,})([^`]*)$")
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(.*?)\s*-->$")
SMALL = re.compile(r"^<!--\s*small-data\s*-->$")
OLD_SPELLING = re.compile(r"^note: .* is now ", re.M)   # the CLI's line for an old verb / option


@dataclass(frozen=True)
class Block:
    path: str         # relative to the repository root
    line: int         # 1-based line of the opening fence
    language: str     # python or bash
    code: str
    skip: str | None  # the not-run reason
    small: bool

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks_of(path: Path, root: Path = ROOT) -> list[Block]:
    """The fenced python / bash blocks of one Markdown file with their markers (``path`` named
    relative to ``root``). Fences as CommonMark reads them: three or more backticks and an info
    string without backticks open a block, as many or more backticks alone close it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        fence = OPENING.match(lines[i])
        if not fence:
            i += 1
            continue
        start, ticks, body = i, len(fence.group(1)), []
        i += 1
        while i < len(lines) and not re.fullmatch(rf"`{{{ticks},}}\s*", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        language = fence.group(2).strip().split(" ")[0] if fence.group(2).strip() else ""
        if language not in ("python", "bash"):
            continue
        before = next((lines[j].strip() for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        skip = NOT_RUN.match(before)
        found.append(Block(str(path.relative_to(root)), start + 1, language, "\n".join(body) + "\n",
                           skip.group(1) if skip else None, bool(SMALL.match(before))))
    return found


ALL_BLOCKS = [b for doc in documents() for b in blocks_of(doc)]


def test_the_block_reader_finds_blocks_and_markers(tmp_path):
    """The reader on a file written here: both languages, both markers, other languages left out."""
    page = tmp_path / "page.md"
    page.write_text("text\n```bash\necho one\n```\n<!-- not-run: starts a server -->\n\n"
                    "```python\nprint(2)\n```\n````text\n```bash\nnot run\n```\n````\n"
                    "<!-- small-data -->\n```bash\necho three\n```\n"
                    "```` ```bash ```` in a sentence\n", encoding="utf-8")
    got = blocks_of(page, tmp_path)
    assert [(b.line, b.language, b.skip, b.small) for b in got] == [
        (2, "bash", None, False), (7, "python", "starts a server", False), (16, "bash", None, True)]
    assert got[0].code == "echo one\n" and got[1].code == "print(2)\n"
    assert got[0].where == "page.md:2"


def test_the_documents_have_blocks_to_run():
    assert len([b for b in ALL_BLOCKS if b.skip is None]) >= 10
    assert all(b.skip for b in ALL_BLOCKS if b.skip is not None), "a not-run marker needs a reason"


# --------------------------------------------------------------------------- running blocks

def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != "datasets"}


def _tracked_changes() -> str:
    return subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=all",
                           "--", "analysis", "app", "checkpoints", "results", "docs", "tests"],
                          capture_output=True, text=True).stdout


@pytest.fixture(scope="session")
def block_env(tmp_path_factory):
    """The shell variables every block sees (see the module docstring)."""
    import torch
    import torchvision
    from PIL import Image

    from tests.data.test_data import _cifar_folder

    base = tmp_path_factory.mktemp("blocks")
    images = base / "images"
    rng = np.random.default_rng(0)
    for split, n in (("train", 8), ("val", 4)):
        for k, c in enumerate(("ant", "bee", "cow")):
            (images / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 90, (32, 32, 3)) + 80 * k
                Image.fromarray(pixels.astype(np.uint8)).save(images / split / c / f"{i}.png")
    weights = base / "tv18.pth"
    torch.save(torchvision.models.resnet18(num_classes=3).state_dict(), weights)
    results = base / "results"
    shutil.copytree(ROOT / "results", results, ignore=shutil.ignore_patterns("datasets"))
    (base / "cifar").mkdir()
    (base / "zoo").mkdir()
    python_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "IMAGES": str(images), "ZOO": str(base / "zoo"),
           "CIFAR": _cifar_folder(base / "cifar", per_batch=12), "WEIGHTS": str(weights),
           "RA_RESULTS": str(results), "RA_RUNS": str(base / "runs"),
           "PATH": f"{python_dir}:{os.environ['PATH']}"}
    return env, results


@pytest.fixture(scope="session")
def small_zoo(tmp_path_factory):
    """Two tiny classifiers and an SR plain / RA pair on ``synthetic:n=64``."""
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

    folder = tmp_path_factory.mktemp("small-zoo")
    common = {"dataset": SMALL_DATASET, "epochs": 1, "batch_size": 16, "val_limit": 16,
              "state_dir": str(tmp_path_factory.mktemp("small-state")), "progress": False,
              "max_steps": 2}
    train_classifier("resnet20", out=str(folder / "resnet20"), arch_kwargs={"width": 4}, **common)
    train_classifier("vgg11-bn", out=str(folder / "vgg11-bn"), arch_kwargs={"width_mult": 0.125},
                     **common)
    tiny = {"channels": 8, "blocks": 1}
    train_processor("sr", "plain", out=str(folder / "sr-plain"), arch_kwargs=tiny, **common)
    train_processor("sr", "ra", out=str(folder / "sr-ra"), recognizer=str(folder / "resnet20"),
                    lam=0.1, arch_kwargs=tiny, **common)
    return folder


TIMES: dict[str, float] = {}


def _untracked() -> set[str]:
    """The checkout's files that git neither tracks nor ignores (paths from the root)."""
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--others", "--exclude-standard"],
                            capture_output=True, text=True).stdout
    return set(listed.splitlines())


def _run_block(block: Block, env: dict, results: Path) -> None:
    """Run one block as the module docstring says and check what it did."""
    command = (["bash", "-e", "-o", "pipefail", "-c", block.code] if block.language == "bash"
               else [sys.executable, "-c", block.code])
    before, tracked, untracked = _digests(results), _tracked_changes(), _untracked()
    t0 = time.perf_counter()
    # a session of its own, so that a block that outlives its limit (a server it started, say)
    # is ended with everything it started
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=BLOCK_LIMIT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{block.where}: the {block.language} block ran past {BLOCK_LIMIT_S} s")
    done = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    for made in _untracked() - untracked:   # the files the block names at the root
        if len(Path(made).parts) == 1 and made in block.code:
            (ROOT / made).unlink(missing_ok=True)
    TIMES[block.where] = time.perf_counter() - t0
    said = f"{block.where} ({block.language} block, {TIMES[block.where]:.1f} s)"
    assert done.returncode == 0, f"{said} exited {done.returncode}:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, f"{said} printed a traceback:\n{done.stderr[-3000:]}"
    old = OLD_SPELLING.search(done.stderr)
    assert old is None, f"{said} uses an old spelling: {done.stderr[old.start():].splitlines()[0]}"
    assert _digests(results) == before, f"{said} changed the shipped results/ (outside datasets/)"
    assert _tracked_changes() == tracked, f"{said} changed files of the checkout"


def earlier_blocks(block: Block) -> list[Block]:
    """The blocks of ``block``'s page above it that run (a page's later blocks may use what its
    earlier ones made)."""
    return [b for b in ALL_BLOCKS
            if b.path == block.path and b.line < block.line and b.skip is None]


@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.where for b in ALL_BLOCKS])
def test_block_runs_as_written(block: Block, block_env, request):
    """The block, after those of its page above it that this test process has not run yet
    (pytest-xdist may hand a page's blocks to different workers, each with its own $ZOO)."""
    if block.skip is not None:
        pytest.skip(f"{block.where}: not run ({block.skip})")
    env, results = block_env
    env = dict(env)
    if block.small:
        env.update(RA_DATASET=SMALL_DATASET, RA_CHECKPOINTS=str(request.getfixturevalue("small_zoo")))
    for earlier in earlier_blocks(block):
        if earlier.where not in TIMES:
            earlier_env = dict(block_env[0])
            if earlier.small:
                earlier_env.update(RA_DATASET=SMALL_DATASET,
                                   RA_CHECKPOINTS=str(request.getfixturevalue("small_zoo")))
            _run_block(earlier, earlier_env, results)
    _run_block(block, env, results)


def test_earlier_blocks_are_those_of_the_same_page_above_that_run():
    page = next(b for b in ALL_BLOCKS if b.path == "docs/own-data.md" and b.skip is None
                and earlier_blocks(b))
    found = earlier_blocks(page)
    assert found and all(b.path == page.path and b.line < page.line and b.skip is None
                         for b in found)


# --------------------------------------------------------------------------- the site

def test_the_site_builds_with_warnings_as_errors(tmp_path):
    missing = [m for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
               if importlib.util.find_spec(m.split(".")[0]) is None
               or (m.count(".") and importlib.util.find_spec(m) is None)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/test.sh installs "
                    "requirements-test.txt)")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                           "-d", str(tmp_path / "site")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    for page in ("cli", "zoo", "results", "figures", "api", "configuration"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page
    cli = (tmp_path / "site" / "cli" / "index.html").read_text(encoding="utf-8")
    assert "train-classifier" in cli and "figure" in cli


def test_every_generated_part_is_asked_for():
    """Each part scripts/docs_hooks.py can generate is on a page, and no page asks for one it
    cannot."""
    from scripts.docs_hooks import GENERATORS, MARKER

    asked = [m for doc in sorted((ROOT / "docs").rglob("*.md"))
             for m in MARKER.findall(doc.read_text(encoding="utf-8"))]
    assert sorted(set(asked)) == sorted(GENERATORS), asked


# --------------------------------------------------------------------------- configuration

VARIABLE = re.compile(r"\b(?:RA|SURVEY)_[A-Z0-9_]*")


def test_every_variable_the_code_reads_is_in_the_configuration_table():
    """Every RA_* / SURVEY_* name in analysis/ and app/ is a row of docs/configuration.md (a
    name built in an f-string, such as RA_LPIPS_{NET}_WEIGHTS, by its literal start)."""
    read = {m for folder in ("analysis", "app") for path in (ROOT / folder).rglob("*.py")
            for m in VARIABLE.findall(path.read_text(encoding="utf-8"))}
    assert {"RA_HOME", "RA_PREFETCH", "SURVEY_DB_URL"} <= read
    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {m for line in table.splitlines() if line.startswith("|")
            for m in re.findall(r"`\$?((?:RA|SURVEY)_[A-Z0-9_{}a-z.()]*)`", line.split("|")[1])}
    documented = {re.sub(r"\{.*?\}", "", r) for r in rows}
    missing = sorted(v for v in read
                     if not any(d == v or (v.endswith("_") and d.startswith(v)) for d in documented))
    assert not missing, f"read in analysis/ or app/ but not in docs/configuration.md's table: {missing}"


# --------------------------------------------------------------------------- the documents

HISTORY = re.compile(r"\bsession \d+|\bruns? \d+\b|before this|\bused to\b|review mend|"
                     r"\bno longer\b|\bit now\b", re.I)


def test_the_docs_describe_the_project_as_it_is():
    found = [f"{doc.relative_to(ROOT)}:{n}: {line.strip()}"
             for doc in sorted((ROOT / "docs").rglob("*.md"))
             for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
             if HISTORY.search(line)]
    assert not found, "history in the docs (git keeps it):\n" + "\n".join(found)


def test_the_docs_pages_readme_links_to_exist():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = set(re.findall(r"\]\((docs/[^)#\s]+)", text))
    missing = sorted(link for link in links if not (ROOT / link).exists())
    assert not missing, f"README.md links to missing docs pages: {missing}"
