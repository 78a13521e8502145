"""``figure --dataset imagefolder:...`` draws that dataset's results, never the embedded
default's; ``reproduce`` on own data names the commands that fit it, each skipped figure once;
``figure boundary-maps`` puts the plain and the RA output inside the map at 224 px.

One tiny 3-class ImageFolder (24 px) with tiny models trained for a few steps, built once for
the module; the results base ($RA_RESULTS) also holds copies of the embedded default's shipped
result files, which a figure that ignored ``--dataset`` would draw."""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shlex
import shutil

import numpy as np
import pytest
from PIL import Image

from analysis.analyses.evaluate import evaluate
from analysis.cli.main import build_parser, main
from analysis.config import PROJECT_ROOT
from analysis.data.folders import dataset_slug
from analysis.reporting.paper import KINDS
from analysis.reporting.reproduce import regenerate_figures
from analysis.reporting.tables import write_results
from tests.conftest import TINY_CLASSIFIER, TINY_PROCESSOR

CLASSES = ("ant", "bee", "cow")
CLASSIFIERS = ("mynet-a", "mynet-b")
EMBEDDED = ("T-shirt/top", "densenet-bc", "resnet20", "mobilenetv2", "vgg11-bn")
SHIPPED = ("evaluate_sr_scale4.json", "quality_sr_scale4.json",
           "features_sr_scale4_resnet20.json", "boundaries_sr_scale4_resnet20_densenet-bc.json",
           "loss_grid_sr_scale4.json")


def image_folder(root, size: int, per_class=(("train", 4), ("val", 2))):
    """``root/<split>/<class>/<i>.png``: RGB noise with a class-dependent tint."""
    rng = np.random.default_rng(0)
    for split, n in per_class:
        for k, c in enumerate(CLASSES):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 80, (size, size, 3)) + 80 * k
                Image.fromarray(pixels.astype(np.uint8)).save(root / split / c / f"{i}.png")
    return root


def cli(*args) -> int:
    try:
        return main([str(a) for a in args])
    except SystemExit as exc:
        return exc.code


@pytest.fixture(scope="module")
def own(tmp_path_factory):
    """The folder, a zoo on it in two stages, the results base and reproduce's stderr of each
    stage: first two classifiers and a plain processor only (no RA: the image figures, the
    lambda and the transfer figure cannot be drawn), then the RA processors of the lambda
    sweep and of the transfer table, reproduce, and the t-SNE and BD result files."""
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

    base = tmp_path_factory.mktemp("own-figures")
    data = image_folder(base / "imgs", 24)
    zoo, results = base / "zoo", base / "results"
    results.mkdir()
    for name in SHIPPED:                               # the embedded default's files
        shutil.copy(PROJECT_ROOT / "results" / name, results / name)
    spec = f"imagefolder:{data}"
    old = os.environ.get("RA_RESULTS")
    os.environ["RA_RESULTS"] = str(results)
    common = {"dataset": spec, "epochs": 1, "batch_size": 8, "state_dir": str(base / "runs"),
              "progress": False, "val_limit": 6}
    try:
        train_classifier("resnet20", out=str(zoo / "mynet-a"), arch_kwargs=TINY_CLASSIFIER,
                         max_steps=1, **common)
        train_classifier("resnet20", out=str(zoo / "mynet-b"), arch_kwargs=TINY_CLASSIFIER,
                         max_steps=1, seed=1, **common)
        train_processor("sr", "plain", out=str(zoo / "sr-plain"), arch_kwargs=TINY_PROCESSOR,
                        max_steps=1, **common)
        folder = results / "datasets" / dataset_slug(spec)
        # stage 1: the evaluation of sr and the figures reproduce draws from it
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            write_results([evaluate("sr", dataset=spec, folder=zoo, progress=False)], folder)
            regenerate_figures(folder, zoo, spec)
        stages = [err.getvalue()]
        # stage 2: the RA processors, then reproduce itself (every paper task)
        for name, source, lam in (("sr-ra", "mynet-a", 0.1), ("sr-ra-lam0.01", "mynet-a", 0.01),
                                  ("sr-ra-src-mynet-b", "mynet-b", 0.1)):
            train_processor("sr", "ra", out=str(zoo / name), recognizer=str(zoo / source),
                            lam=lam, arch_kwargs=TINY_PROCESSOR, max_steps=1, **common)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            assert cli("reproduce", "--dataset", spec, "--checkpoints", zoo, "--no-progress") == 0
        stages.append(err.getvalue())
        assert cli("tsne", "--task", "sr", "--dataset", spec, "--checkpoints", zoo,
                   "--classifier", "mynet-a", "--sample", "6", "--out", folder,
                   "--no-progress") == 0
        assert cli("bd", "--task", "sr", "--dataset", spec, "--checkpoints", zoo, "--source",
                   "mynet-a", "--target", "mynet-b", "--all-images",
                   "--out", folder, "--no-progress") == 0
        yield {"data": data, "spec": spec, "zoo": zoo, "results": results, "folder": folder,
               "stages": stages}
    finally:
        if old is None:
            os.environ.pop("RA_RESULTS", None)
        else:
            os.environ["RA_RESULTS"] = old


def test_every_figure_kind_draws_the_named_dataset(own, tmp_path, capsys):
    """Each kind with --dataset (no --results): its CSV holds the folder's classes and models,
    never the embedded default's; the kind without a result file for the dataset
    (error-ranking and error-ranking-seeds: no loss grid; corruption-grid: no grid;
    corruption-gain and severity-curves: no processors trained on corruption cells; the
    agreement kinds: no agreement result; seeds: no seed result) refuses with one sentence
    naming the command for it."""
    assert set(KINDS) == {"examples", "boundary-maps", "lambda", "transfer", "bd", "tsne",
                          "quality", "error-ranking", "corruption-grid", "reliability",
                          "detection-transfer", "category-transfer", "architecture-transfer",
                          "agreement", "agreement-scatter", "seeds", "error-ranking-seeds",
                          "corruption-gain", "severity-curves"}
    missing = {"error-ranking": ("loss_grid_sr_scale4.json", "loss-grid --task sr"),
               "error-ranking-seeds": ("loss_grid_seeds_sr_scale4.json",
                                       "loss-grid --across-seeds --task sr"),
               "category-transfer": ("category_transfer_sr_scale4.json",
                                     "category-transfer --task sr"),
               "architecture-transfer": ("architecture_transfer_sr_scale4.json",
                                         "architecture-transfer --task sr"),
               "corruption-grid": ("corruption_grid.json", "corruption-grid"),
               "corruption-gain": ("corruption_processors.json", "corruption-processors"),
               "severity-curves": ("corruption_processors.json", "corruption-processors"),
               "agreement": ("agreement_sr_scale4.json", "agreement --task sr"),
               "agreement-scatter": ("agreement_sr_scale4.json", "agreement --task sr"),
               "seeds": ("seeds_sr_scale4.json", "seeds --task sr")}
    common = ["--dataset", own["spec"], "--checkpoints", own["zoo"], "--format", "png",
              "--dpi", "50"]
    extra = {"examples": ["--indices", "0,5"], "boundary-maps": ["--indices", "1",
                                                                 "--resolution", "8"],
             "tsne": ["--classes", "0,1,2"]}
    names = set(CLASSES) | set(CLASSIFIERS) | {"sr-plain", "sr-ra", "sr-ra-lam0.01",
                                               "sr-ra-src-mynet-b"}
    for kind in KINDS:
        out = tmp_path / kind
        code = cli("figure", kind, "--out", out, *common, *extra.get(kind, []))
        captured = capsys.readouterr()
        if kind in missing:
            err = captured.err.strip()
            file, command = missing[kind]
            assert code == 2 and "\n" not in err and "Traceback" not in err, err
            assert (f"{file}, which is not there; make it with 'python -m "
                    f"analysis {command} --checkpoints {own['zoo']} --dataset "
                    f"{shlex.quote(own['spec'])}") in err, err
            assert str(own["folder"]) in err and not out.exists()
            continue
        if kind == "detection-transfer":     # no detector for the folder's canvases
            err = captured.err.strip()
            assert code == 2 and "\n" not in err and "Traceback" not in err, err
            assert (f"detection_transfer_sr_scale4.json, which is not there; make it with "
                    f"'python -m analysis detection-transfer --task sr --checkpoints "
                    f"{own['zoo']} --dataset {shlex.quote(own['spec'])}") in err, err
            assert not out.exists()
            continue
        assert code == 0, (kind, captured.err)
        [table] = sorted(out.glob("*.csv"))
        text = table.read_text()
        rows = list(csv.DictReader(text.splitlines()))
        assert rows, kind
        for word in EMBEDDED:
            assert word not in text, (kind, word)
        assert any(name in text for name in names), kind
        if kind in ("examples", "boundary-maps", "tsne"):
            assert {r["label"] for r in rows if r.get("label")} <= set(CLASSES), kind
    lam = list(csv.DictReader((tmp_path / "lambda" / "lambda_sr_scale4.csv").open()))
    assert {r["classifier"] for r in lam} == set(CLASSIFIERS)
    assert {r["processor"] for r in lam} == {"sr-plain", "sr-ra", "sr-ra-lam0.01"}
    transfer = list(csv.DictReader((tmp_path / "transfer" / "transfer_sr_scale4.csv").open()))
    assert {r["source"] for r in transfer} == set(CLASSIFIERS)
    bd = (tmp_path / "bd" / "bd_sr_scale4_mynet-a_mynet-b.csv").read_text()
    assert "BD(mynet-a)" in bd and "IBD(mynet-a, mynet-b)" in bd


def test_results_of_another_dataset_are_refused(own, tmp_path, capsys):
    """--results naming the embedded default's folder while --dataset names the ImageFolder:
    one sentence naming the command that makes the file for the ImageFolder, nothing written."""
    out = tmp_path / "q"
    assert cli("figure", "quality", "--dataset", own["spec"], "--results", own["results"],
               "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert "holds results of fashion-mnist, not of imagefolder:" in err and "\n" not in err
    assert f"'python -m analysis quality --task sr --out {own['results']} --dataset " in err
    assert not out.exists()


def test_reproduce_on_own_data_names_the_commands_for_it_once(own):
    """Stage 1 (no RA processor; the figures reproduce draws): each figure that cannot be drawn
    is one 'skipped' line naming train-processor with --dataset (never build-zoo), and every
    command it names parses; stage 2 (reproduce itself, with the other paper tasks that have
    no processor) prints each skipped line once."""
    err = own["stages"][0]
    assert "build-zoo" not in err
    skipped = [line for line in err.splitlines() if line.startswith("figures: ")]
    kinds = [line.split()[1] for line in skipped]
    assert sorted(kinds) == ["boundary-maps", "examples", "lambda", "quality", "transfer"]
    quoted = f"--dataset {shlex.quote(own['spec'])}"
    for kind, line in zip(kinds, skipped):
        if kind == "quality":     # no quality table yet (reproduce makes it)
            assert (f"make it with 'python -m analysis quality --task sr --checkpoints "
                    f"{own['zoo']} {quoted}") in line, line
        else:
            assert "python -m analysis train-processor " + quoted in line, line
    ra = (f"'python -m analysis train-processor {quoted} --task sr --method ra "
          f"--classifier {own['zoo']}/mynet-a --out {own['zoo']}/sr-ra'")
    assert ra in skipped[kinds.index("examples")]
    parser = build_parser()
    later = [line for line in own["stages"][1].splitlines() if line.startswith("figures: ")]
    for line in skipped + later:
        for command in line.split("'")[1::2]:
            if command.startswith("python -m analysis "):
                args = parser.parse_args(shlex.split(command)[3:])
                assert args.verb in ("train-processor", "reproduce", "quality"), command
    # stage 2 draws every planned figure of sr; the other paper tasks (no processor on this
    # folder) get one line per figure, each naming the training command for the folder
    assert "build-zoo" not in own["stages"][1]
    assert not [line for line in later if " for sr:scale=4 " in line], later
    assert later and len(later) == len(set(later)), later
    assert {(line.split()[1], line.split()[3]) for line in later} >= {
        (kind, task) for kind in ("examples", "boundary-maps")
        for task in ("denoise:sigma=0.1", "jpeg:quality=10")}
    for line in later:
        assert "python -m analysis train-processor --dataset" in line, line


def test_boundary_maps_at_224_px_hold_the_plain_and_the_ra_output(tmp_path, monkeypatch):
    """The default half-width is the app's multiple of ||x_RA - x||: at 224 px (where that
    length is far above the absolute 2.0 of --extent-l2) both outputs lie inside the map."""
    from analysis.analyses.boundary_defaults import EXTENT_MULTIPLE, FIGURE_EXTENT_L2
    from analysis.explore.plane import extent_for
    from analysis.reporting.paper import FigureOptions, build_figure
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

    monkeypatch.setenv("RA_RESULTS", str(tmp_path / "results"))
    data = image_folder(tmp_path / "big", 224, per_class=(("train", 2), ("val", 1)))
    spec, zoo = f"imagefolder:{data}", tmp_path / "zoo"
    common = {"dataset": spec, "epochs": 1, "batch_size": 3, "state_dir": str(tmp_path / "runs"),
              "progress": False, "val_limit": 3}
    train_classifier("resnet20", out=str(zoo / "big-net"), arch_kwargs=TINY_CLASSIFIER,
                     max_steps=1, **common)
    train_processor("sr", "plain", out=str(zoo / "sr-plain"), arch_kwargs=TINY_PROCESSOR,
                    max_steps=1, **common)
    train_processor("sr", "ra", out=str(zoo / "sr-ra"), recognizer=str(zoo / "big-net"),
                    lam=0.1, arch_kwargs=TINY_PROCESSOR, max_steps=1, seed=1, **common)
    fig = build_figure("boundary-maps", FigureOptions(dataset=spec, checkpoints=zoo,
                                                      indices=[0], resolution=8, device="cpu"))
    [ra_length], [extent] = fig.extra["ra_length"], fig.extra["extent"]
    assert ra_length > FIGURE_EXTENT_L2            # the absolute default would miss x_RA
    assert extent == extent_for(EXTENT_MULTIPLE, ra_length) > ra_length
    maps = [r for r in fig.rows if r["panel"] == "map"]
    us = [r["u"] for r in maps]
    assert min(us) <= 0.0 <= ra_length <= max(us)          # plain at 0, RA at ||x_RA - x||
    stars = {r["u"] for r in fig.rows if r["panel"] == "RA output"}
    assert stars == {ra_length}
    assert fig.provenance["images"]["extent_ra"] == EXTENT_MULTIPLE
    # --extent-l2 keeps the absolute half-width
    fixed = build_figure("boundary-maps", FigureOptions(dataset=spec, checkpoints=zoo,
                                                        indices=[0], resolution=8, device="cpu",
                                                        extent=2.0))
    assert fixed.extra["extent"] == [2.0] and max(r["u"] for r in fixed.rows
                                                  if r["panel"] == "map") == 2.0
