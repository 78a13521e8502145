"""Paper figures as files: every kind as PDF, SVG and PNG of the requested size, fonts embedded
and never Type 3, provenance in the metadata, the CSV beside it holding the plotted numbers,
the same bytes for the same call, and pixel-exact image panels."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.config import PROJECT_ROOT
from analysis.reporting.paper import KINDS, FigureOptions, build_figure, figure_bytes, save_figure
from analysis.reporting.paper.style import MIN_FONT_PT, PRESETS
from tests.conftest import SYNTH

SHIPPED = {"evaluate_sr_scale4.json", "quality_sr_scale4.json", "features_sr_scale4_resnet20.json",
           "boundaries_sr_scale4_resnet20_densenet-bc.json"}
FILE_KINDS = ("lambda", "transfer", "bd", "tsne", "quality")
MODEL_KINDS = ("examples", "boundary-maps")


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A results folder holding copies of the shipped result files the figures read."""
    folder = tmp_path_factory.mktemp("results")
    for name in SHIPPED:
        found = sorted((PROJECT_ROOT / "results").rglob(name))
        assert found, f"results/ has no {name}"
        shutil.copy(found[0], folder / name)
    return folder


def options_for(kind, shipped, tiny_zoo, **kw) -> FigureOptions:
    if kind in MODEL_KINDS:
        base = {"dataset": SYNTH, "checkpoints": tiny_zoo, "results": shipped.parent / "none",
                "indices": [0, 3], "classifier": "clf-a", "classifiers": ["clf-a", "clf-b"],
                "resolution": 16, "device": "cpu"}
    else:
        base = {"results": shipped}
    return FigureOptions(**{**base, **kw})


# ----------------------------------------------------------------------------- file checks

def pdf_fonts(reader) -> list[dict]:
    """Every font dictionary used by the pages (and their form XObjects)."""
    fonts, seen = [], set()

    def walk(resources):
        if resources is None:
            return
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            font = font.get_object()
            if id(font) not in seen:
                seen.add(id(font))
                fonts.append(font)
        for xobj in (resources.get("/XObject") or {}).values():
            xobj = xobj.get_object()
            if xobj.get("/Subtype") == "/Form":
                walk(xobj.get("/Resources"))

    for page in reader.pages:
        walk(page.get("/Resources"))
    return fonts


def embedded(font) -> bool:
    if font.get("/Subtype") == "/Type0":
        font = font["/DescendantFonts"][0].get_object()
    desc = font.get("/FontDescriptor")
    return desc is not None and any(k in desc.get_object()
                                    for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def check_pdf(data: bytes, width_in: float, kind: str):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(72 * width_in, abs=0.05)
    fonts = pdf_fonts(reader)
    assert fonts, "the PDF has no text fonts"
    assert all(f.get("/Subtype") != "/Type3" for f in fonts), [f.get("/BaseFont") for f in fonts]
    assert all(embedded(f) for f in fonts), [f.get("/BaseFont") for f in fonts]
    prov = json.loads(reader.metadata["/Subject"])
    assert prov["figure"] == kind and "commit" in prov["git"] and "checkpoints" in prov
    assert "/CreationDate" not in reader.metadata
    return prov


def check_svg(data: bytes, width_in: float, kind: str):
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    assert float(root.attrib["width"].removesuffix("pt")) == pytest.approx(72 * width_in, abs=0.05)
    assert root.find(".//{http://www.w3.org/2000/svg}text") is None   # glyphs drawn as paths
    text = data.decode()
    assert f'"figure": "{kind}"' in text and "<dc:date>" not in text


def check_png(data: bytes, width_in: float, dpi: int, kind: str):
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.size[0] == round(width_in * dpi)
    assert json.loads(image.info["Description"])["figure"] == kind
    return image


def texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.figure.findobj(Text) if t.get_text().strip() and t.get_visible()]


@pytest.mark.parametrize("kind", [*FILE_KINDS, *MODEL_KINDS])
def test_every_kind_as_pdf_svg_png_with_its_csv(kind, shipped, tiny_zoo, tmp_path):
    width = PRESETS["single"] if kind in ("lambda", "examples") else PRESETS["double"]
    dpi = 100
    fig = build_figure(kind, options_for(kind, shipped, tiny_zoo, width=width, dpi=dpi))
    paths = save_figure(fig, tmp_path / fig.name, ("pdf", "svg", "png"), dpi)
    assert [p.suffix for p in paths] == [".pdf", ".svg", ".png", ".csv"]
    prov = check_pdf(paths[0].read_bytes(), width, kind)
    check_svg(paths[1].read_bytes(), width, kind)
    check_png(paths[2].read_bytes(), width, dpi, kind)
    assert all(t.get_fontsize() >= MIN_FONT_PT for t in texts(fig)), \
        sorted({t.get_fontsize() for t in texts(fig)})
    with paths[3].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(fig.rows) > 0
    if kind in MODEL_KINDS:   # the checkpoints' SHA-256 as the zoo's cards hold them
        card = json.loads((tiny_zoo / "clf-a.json").read_text())
        assert prov["checkpoints"]["clf-a"] == card["weights"]["sha256"]
    else:
        source = next(iter(prov["sources"]))
        from analysis.zoo.checkpoints import sha256_file
        assert prov["sources"][source]["sha256"] == sha256_file(shipped / source)


@pytest.mark.parametrize("kind", ["lambda", "examples"])
def test_the_same_call_writes_the_same_bytes(kind, shipped, tiny_zoo):
    opts = options_for(kind, shipped, tiny_zoo, width=PRESETS["single"], dpi=80, seed=3)
    first, again = build_figure(kind, opts), build_figure(kind, opts)
    for fmt in ("pdf", "svg", "png"):
        assert figure_bytes(first, fmt, 80) == figure_bytes(again, fmt, 80), fmt


def test_lambda_csv_holds_the_plotted_lines_and_the_evaluation(shipped):
    from analysis.reporting.tables import lambda_rows

    fig = build_figure("lambda", FigureOptions(results=shipped))
    result = json.loads((shipped / "evaluate_sr_scale4.json").read_text())
    rows = lambda_rows(result, "resnet20")
    assert len(rows) >= 3
    ax = fig.figure.axes[0]
    for clf in result["classifiers"]:
        csv_rows = [r for r in fig.rows if r["classifier"] == clf]
        assert [r["psnr_db"] for r in csv_rows] == [r["psnr"]["mean"] for r in rows]
        assert [r["accuracy_pct"] for r in csv_rows] == pytest.approx(
            [100 * r["accuracy"][clf]["accuracy"] for r in rows])
        line = next(ln for ln in ax.get_lines() if ln.get_gid() == f"line-{clf}")
        assert list(line.get_xdata()) == [r["psnr_db"] for r in csv_rows]
        assert list(line.get_ydata()) == pytest.approx([r["accuracy_pct"] for r in csv_rows])


def test_transfer_quality_bd_and_tsne_csvs_are_the_result_files_numbers(shipped):
    ev = json.loads((shipped / "evaluate_sr_scale4.json").read_text())
    by_name = {r["name"]: r for r in ev["rows"]}
    fig = build_figure("transfer", FigureOptions(results=shipped))
    for row in fig.rows:
        d = by_name[row["processor"]]["vs_plain"][row["target"]]
        assert row["gain_points"] == pytest.approx(100 * d["diff"])
        assert row["ci95_low_points"] == pytest.approx(100 * d["ci95"][0])
    image = fig.figure.axes[0].images[0].get_array()
    assert image.shape == (len({r["source"] for r in fig.rows}), len(ev["classifiers"]))

    q = json.loads((shipped / "quality_sr_scale4.json").read_text())
    qrows = {r["name"]: r for r in q["rows"]}
    fig = build_figure("quality", FigureOptions(results=shipped, metrics=["psnr", "ssim"]))
    assert {r["metric"] for r in fig.rows} == {"psnr", "ssim"}
    for row in fig.rows:
        assert row["mean"] == qrows[row["input"]]["values"][row["metric"]]["mean"]
    bars = [p.get_width() for p in fig.figure.axes[0].patches]
    assert bars == [r["mean"] for r in fig.rows if r["metric"] == "psnr"]

    b = json.loads((shipped / "boundaries_sr_scale4_resnet20_densenet-bc.json").read_text())
    fig = build_figure("bd", FigureOptions(results=shipped))
    ra = [r for r in fig.rows if r["quantity"] == "BD(resnet20)" and r["direction"] == "ra"]
    values = [r["bd"]["resnet20"]["ra"] for r in b["records"]]
    uncensored = sorted(v for v in values if not math.isnan(v))
    assert [r["distance"] for r in ra] == pytest.approx(uncensored, rel=5e-7)   # 7 digits
    assert ra[-1]["fraction_at_most"] == pytest.approx(len(uncensored) / len(values), abs=1e-6)

    f = json.loads((shipped / "features_sr_scale4_resnet20.json").read_text())
    fig = build_figure("tsne", FigureOptions(results=shipped, classes=[1, 7],
                                             processors=["LQ", "sr-ra"]))
    want = {(p["source"], p["index"]) for p in f["points"] if p["label"] in (1, 7)
            and p["source"] in ("HQ", "sr-ra")}
    assert {(r["source"], r["index"]) for r in fig.rows if r["panel"] == "sr-ra"} == want
    assert len(fig.figure.axes) == 2


def test_tsne_by_classifier_is_qualnet_figure_2(shipped, tmp_path):
    """One panel per classifier, HQ vs LQ, each panel's convergence measures under it."""
    from analysis.errors import RAExplorerError

    report = json.loads((shipped / "features_sr_scale4_resnet20.json").read_text())
    other = json.loads(json.dumps(report))
    other["classifier"] = "other-clf"
    for p in other["points"]:
        p["x"] += 100.0
    other["measures"]["sources"]["LQ"]["hq_distance"] = 0.123
    shutil.copy(shipped / "features_sr_scale4_resnet20.json", tmp_path)
    (tmp_path / "features_sr_scale4_other-clf.json").write_text(json.dumps(other))
    fig = build_figure("tsne", FigureOptions(results=tmp_path, classes=[0, 3],
                                             classifiers=["resnet20", "other-clf"]))
    assert [ax.get_title() for ax in fig.figure.axes[:2]] == ["resnet20", "other-clf"]
    assert fig.figure.axes[1].get_xlabel().startswith("HQ dist. 0.12, k-NN ")
    for panel, rep in (("resnet20", report), ("other-clf", other)):
        want = {(p["source"], p["index"], p["x"]) for p in rep["points"]
                if p["label"] in (0, 3) and p["source"] in ("HQ", "LQ")}
        assert {(r["source"], r["index"], r["x"]) for r in fig.rows if r["panel"] == panel} == want
    assert fig.name == "tsne_sr_scale4_resnet20_other-clf"
    with pytest.raises(RAExplorerError, match="nope"):
        build_figure("tsne", FigureOptions(results=tmp_path, classifiers=["resnet20", "nope"]))


@torch.inference_mode()
def test_examples_panels_equal_the_model_outputs_pixel_for_pixel(tiny_zoo, shipped):
    from analysis.data.datasets import load_dataset
    from analysis.data.tasks import create_task
    from analysis.zoo.catalogue import find_checkpoints
    from analysis.zoo.checkpoints import load_models

    indices, dpi = [2, 5, 11], 150
    fig = build_figure("examples", options_for("examples", shipped, tiny_zoo, indices=indices,
                                               dpi=dpi, width=PRESETS["double"]))
    png = np.asarray(Image.open(io.BytesIO(figure_bytes(fig, "png", dpi))).convert("RGB"))
    scale = fig.extra["grid"]["scale"]
    assert scale >= 2
    # the expected pixels from a direct call of the models, not from the builder
    test = load_dataset(SYNTH, "test")
    task = create_task("sr")
    clean = torch.stack([test[i][0] for i in indices])
    lq = task.degrade_eval(clean, torch.tensor(indices), seed=0)
    cards = {c["name"]: c for c in find_checkpoints(tiny_zoo)}
    models = load_models([cards["sr-plain"], cards["sr-ra"], cards["clf-a"]], "cpu")
    columns = [clean, lq, models["sr-plain"](lq).clamp(0, 1), models["sr-ra"](lq).clamp(0, 1)]
    for c, images in enumerate(columns):
        for r in range(len(indices)):
            want = np.round(images[r, 0].numpy() * 255).astype(np.uint8)
            k = scale * clean.shape[-1] // want.shape[-1]       # the LQ input is 7 x 7
            want = np.repeat(np.repeat(want, k, 0), k, 1)
            x, y = fig.extra["grid"]["boxes"][(r, c)]
            got = png[y:y + want.shape[0], x:x + want.shape[1]]
            assert (got == want[..., None]).all(), (r, c, int((got != want[..., None]).sum()))
            # what the CSV says the classifier predicted on this panel
            view = images[r:r + 1] if c != 1 else task.upsample(lq[r:r + 1], clean.shape[-2:])
            pred = int(models["clf-a"](view).argmax(1))
            name = ("clean", "no processing", "sr-plain", "sr-ra")[c]
            row = next(x for x in fig.rows if x["row"] == r and x["input"] == name)
            assert row["prediction"] == test.info.class_names[pred]


def test_a_filter_chooses_images_that_match_it(tiny_zoo, shipped):
    from analysis.data.datasets import load_dataset
    from analysis.data.tasks import create_task
    from analysis.zoo.catalogue import find_checkpoints
    from analysis.zoo.checkpoints import load_models

    opts = options_for("examples", shipped, tiny_zoo, indices=None, filter="plain-wrong", rows=2)
    fig = build_figure("examples", opts)
    chosen = fig.extra["indices"]
    assert len(chosen) == 2 and "filter plain-wrong" in fig.provenance["images"]["chosen_by"]
    test = load_dataset(SYNTH, "test")
    cards = {c["name"]: c for c in find_checkpoints(tiny_zoo)}
    models = load_models([cards["sr-plain"], cards["clf-a"]], "cpu")
    clean = torch.stack([test[i][0] for i in chosen])
    labels = torch.tensor([test[i][1] for i in chosen])
    with torch.inference_mode():
        lq = create_task("sr").degrade_eval(clean, torch.tensor(chosen), seed=0)
        pred = models["clf-a"](models["sr-plain"](lq).clamp(0, 1)).argmax(1)
    assert (pred != labels).all()
    again = build_figure("examples", opts)
    assert again.extra["indices"] == chosen          # seeded: the same images


def test_boundary_maps_mark_plain_and_ra_outputs_and_share_one_legend(tiny_zoo, shipped):
    fig = build_figure("boundary-maps", options_for("boundary-maps", shipped, tiny_zoo,
                                                    indices=[4], extent=3.0))
    maps = [r for r in fig.rows if r["panel"] == "map"]
    assert {r["classifier"] for r in maps} == {"clf-a", "clf-b"}
    assert len(maps) == 2 * 16 * 16
    assert min(r["u"] for r in maps) == pytest.approx(-3.0) and max(r["v"] for r in maps) == 3.0
    legend = [r["class_index"] for r in fig.rows if r["panel"] == "legend"]
    assert legend == sorted({r["class_index"] for r in maps})
    assert len(fig.figure.legends) == 1
    ra = [r for r in fig.rows if r["panel"] == "RA output"]
    assert len(ra) == 2 and ra[0]["u"] > 0 and ra[0]["v"] == 0.0


def test_boundary_maps_extent_ra_is_a_multiple_of_the_ra_length(tiny_zoo, shipped):
    """--extent-ra X: the half-width is X * ||x_RA - x|| of the image (the app's unit)."""
    from analysis.explore.plane import extent_for

    fig = build_figure("boundary-maps", options_for("boundary-maps", shipped, tiny_zoo,
                                                    indices=[4], extent_ra=2.5))
    ra_length = next(r["u"] for r in fig.rows if r["panel"] == "RA output")
    half = extent_for(2.5, ra_length)
    maps = [r for r in fig.rows if r["panel"] == "map"]
    assert max(r["u"] for r in maps) == pytest.approx(half, rel=1e-5)
    assert fig.provenance["images"]["extent"] == half
    assert fig.provenance["images"]["extent_ra"] == 2.5


@pytest.mark.parametrize("kind,kw,message", [
    ("nope", {}, "Unknown figure kind 'nope'"),
    ("lambda", {"classifiers": ["nobody"]}, "Unknown classifier 'nobody'"),
    ("quality", {"task": "jpeg"}, "python -m analysis quality --task jpeg"),
    ("bd", {"target": "resnet32"}, "python -m analysis bd --task sr"),
    ("tsne", {"classifier": "vgg11-bn"}, "python -m analysis tsne --task sr --classifier"),
])
def test_bad_input_is_one_sentence_with_the_command(kind, kw, message, shipped):
    from analysis.errors import RAExplorerError

    with pytest.raises(RAExplorerError) as err:
        build_figure(kind, FigureOptions(results=shipped, **kw))
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def replaced_resnet20(tmp_path_factory):
    """A checkpoint folder whose resnet20 holds other weights than the ones the shipped
    results were measured with (saved as import-weights --force saves them)."""
    from analysis.zoo.checkpoints import load_checkpoint, save_checkpoint

    folder = tmp_path_factory.mktemp("replaced")
    model, card = load_checkpoint(PROJECT_ROOT / "checkpoints" / "resnet20")
    with torch.no_grad():
        model.fc.bias.add_(0.01)
    kept = {k: v for k, v in card.items() if k not in ("weights", "path", "created", "version")}
    save_checkpoint(model, kept, folder / "resnet20")
    return folder


@pytest.mark.parametrize("kind,source,command", [
    ("transfer", "evaluate_sr_scale4.json", "python -m analysis reproduce"),
    ("bd", "boundaries_sr_scale4_resnet20_densenet-bc.json",
     "python -m analysis bd --task sr --source resnet20 --target densenet-bc"),
    ("tsne", "features_sr_scale4_resnet20.json",
     "python -m analysis tsne --task sr --classifier resnet20"),
])
def test_a_result_measured_with_other_weights_is_refused(kind, source, command, shipped,
                                                          replaced_resnet20, tmp_path, capsys):
    from tests.bad_input import assert_one_sentence, run_main

    out = tmp_path / "figure.png"
    code, err = run_main(["figure", kind, "--results", shipped, "--checkpoints",
                          replaced_resnet20, "--out", out], capsys)
    assert_one_sentence(code, err, f"{source} was measured with other weights of resnet20: "
                                   f"re-run '{command}")   # + the folders in force
    assert not list(tmp_path.iterdir())
    # the quality figure reads a result that names no resnet20: drawn as before
    code, err = run_main(["figure", "quality", "--results", shipped, "--checkpoints",
                          replaced_resnet20, "--out", out], capsys)
    assert code == 0 and out.is_file(), err


def test_reproduces_figure_set_lists_a_result_of_other_weights_as_skipped(
        shipped, replaced_resnet20, tmp_path, capsys):
    from analysis.reporting.paper.shipped import write_result_figures

    written = write_result_figures(shipped, tmp_path / "figures", folder=replaced_resnet20,
                                   formats=("png",))
    err = capsys.readouterr().err
    assert any(line.startswith(
        "figures: tsne for sr:scale=4 skipped: features_sr_scale4_resnet20.json was measured "
        "with other weights of resnet20: re-run 'python -m analysis tsne --task sr --classifier "
        "resnet20") for line in err.splitlines()), err
    assert any(line.startswith(
        "figures: bd for sr:scale=4 skipped: boundaries_sr_scale4_resnet20_densenet-bc.json was "
        "measured with other weights of resnet20: re-run 'python -m analysis bd --task sr "
        "--source resnet20 --target densenet-bc") for line in err.splitlines()), err
    assert any("skipped: evaluate_sr_scale4.json was measured with other weights of resnet20"
               in line for line in err.splitlines() if line.startswith("figures: transfer"))
    assert not [p for p in written if p.name.startswith(("tsne_", "transfer_", "bd_"))]
    assert any(p.name.startswith("quality_") for p in written)   # names no resnet20: drawn


def test_kinds_registry_is_complete():
    # error-ranking reads a loss-grid result: tests/analyses/test_loss_grid.py builds it;
    # detection-transfer one of detectors: tests/analyses/test_detection_transfer.py;
    # category-transfer one of category-split models: tests/analyses/test_category_transfer.py;
    # architecture-transfer: tests/analyses/test_architecture_transfer.py;
    # corruption-grid and reliability: tests/reporting/test_corruption_figures.py;
    # corruption-gain and severity-curves: tests/reporting/test_corruption_cell_figures.py;
    # agreement and agreement-scatter an agreement result: tests/reporting/test_agreement_figures.py;
    # seeds a seed result: tests/analyses/test_seed_spread.py;
    # error-ranking-seeds a loss grid across seeds: tests/analyses/test_loss_grid_seeds.py
    assert set(KINDS) == {*FILE_KINDS, *MODEL_KINDS, "error-ranking", "detection-transfer",
                          "category-transfer", "architecture-transfer", "corruption-grid",
                          "reliability", "agreement", "agreement-scatter", "seeds",
                          "error-ranking-seeds", "corruption-gain", "severity-curves"}


def test_the_committed_figures_embed_their_fonts_and_have_their_csv():
    from pypdf import PdfReader

    pdfs = sorted((PROJECT_ROOT / "results").rglob("figures/*.pdf"))
    assert len(pdfs) >= 10
    for pdf in pdfs:
        reader = PdfReader(pdf)
        fonts = pdf_fonts(reader)
        assert len(reader.pages) == 1 and fonts, pdf.name
        assert all(f.get("/Subtype") != "/Type3" and embedded(f) for f in fonts), pdf.name
        assert json.loads(reader.metadata["/Subject"])["figure"] in KINDS
        for ext in ("png", "csv"):
            assert pdf.with_suffix(f".{ext}").stat().st_size > 0, (pdf.name, ext)
    total = sum(p.stat().st_size for p in pdfs[0].parent.iterdir())
    # the figures (PNG at 200 dpi + PDF + CSV; 40 of them) within 10 MiB; the largest, bd,
    # plots 23,000 ECDF points (NB and perceptual units beside BD), 1.7 MB of its three files;
    # the corruption grid's six 19 x 5 heatmaps 1.1 MB; the six detection and category
    # transfer figures 0.8 MB together
    assert total < 10 * 2**20


def test_boundary_maps_at_column_width_put_the_maps_below_the_strip(tiny_zoo, shipped):
    fig = build_figure("boundary-maps", options_for("boundary-maps", shipped, tiny_zoo,
                                                    indices=[4], width=PRESETS["single"]))
    shown = [ax for ax in fig.figure.axes if ax.get_visible() and ax.images]
    assert len(shown) == 5                              # clean, plain, RA, two maps
    strip, maps = shown[:3], shown[3:]
    assert [ax.get_title() for ax in maps] == ["clf-a", "clf-b"]
    top_of_maps = max(ax.get_position().y1 for ax in maps)
    assert top_of_maps < min(ax.get_position().y0 for ax in strip)


def test_the_shipped_set_adds_qualnets_figure_2_where_several_classifiers_have_reports(tmp_path):
    import json as _json

    from analysis.reporting.paper.shipped import planned

    for clf in ("zeta-kd", "resnet20"):
        (tmp_path / f"features_sr_scale4_{clf}.json").write_text(
            _json.dumps({"task": "sr:scale=4", "classifier": clf}))
    (tmp_path / "features_jpeg_quality10_resnet20.json").write_text(
        _json.dumps({"task": "jpeg:quality=10", "classifier": "resnet20"}))
    plan = [(k, f) for k, f in planned(tmp_path) if k == "tsne"]
    singles = [f for _, f in plan if "classifier" in f]
    multi = [f for _, f in plan if "classifiers" in f]
    assert len(singles) == 3
    # one Fig. 2 analog, for the task with two reports; the zoo's classifier first
    assert multi == [{"task": "sr:scale=4", "classifiers": ["resnet20", "zeta-kd"]}]


def test_bd_figure_draws_the_nearest_boundary_and_perceptual_units(shipped, tmp_path):
    """With NB and perceptual distances in the records (bd --nearest, the default), NB is a
    line in the two BD panels (not in IBD's: each classifier's NB point is its own), and a
    second row shows BD / NB and BD in perceptual units."""
    name = "boundaries_sr_scale4_resnet20_densenet-bc.json"
    b = json.loads((shipped / name).read_text())
    rng = np.random.default_rng(0)
    for r in b["records"]:
        r["nearest"] = {c: float(rng.uniform(0.05, 0.5)) for c in ("resnet20", "densenet-bc")}
        r["perceptual"] = {c: {d: float(rng.uniform(0, 1)) for d in ("random", "ra", "nearest")}
                           for c in ("resnet20", "densenet-bc")}
    b["nearest"] = {"attack": "ddn", "steps": 100, "budget": "b"}
    b["perceptual"] = "lpips-resnet20"
    (tmp_path / name).write_text(json.dumps(b))
    fig = build_figure("bd", FigureOptions(results=tmp_path))
    assert "NB: DDN 100 steps, an upper bound" in fig.title and "sampled search" in fig.title
    nb = [r for r in fig.rows if r["quantity"] == "BD(resnet20)" and r["direction"] == "nearest"]
    assert [r["distance"] for r in nb] == pytest.approx(
        sorted(r["nearest"]["resnet20"] for r in b["records"]), rel=5e-7)
    assert {r["direction"] for r in fig.rows if r["quantity"].startswith("IBD(")} == {"random", "ra"}
    ratio = [r for r in fig.rows if r["quantity"] == "BD(densenet-bc) / NB(densenet-bc)"
             and r["direction"] == "ra"]
    want = sorted(r["bd"]["densenet-bc"]["ra"] / r["nearest"]["densenet-bc"] for r in b["records"]
                  if not math.isnan(r["bd"]["densenet-bc"]["ra"]))
    assert [r["distance"] for r in ratio] == pytest.approx(want, rel=5e-7)
    lp = {r["direction"] for r in fig.rows if r["quantity"] == "BD in lpips-resnet20 units"}
    assert lp == {f"{d}/{c}" for d in ("random", "ra", "nearest")
                  for c in ("resnet20", "densenet-bc")}
    assert len(fig.figure.axes) == 6
