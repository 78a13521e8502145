import json
import shutil

import pytest
import torch

from analysis.analyses.detection_transfer import (
    HUMAN_VIEW,
    detection_transfer,
    format_detection_transfer,
    run_detectors,
    save_detection_transfer,
)
from analysis.data.datasets import load_dataset
from analysis.data.tasks import create_task
from analysis.errors import RAExplorerError
from analysis.metrics.detection import mean_average_precision
from analysis.pipeline.runner import CLEAN, NO_PROCESSING
from analysis.pipeline.setting import Setting
from analysis.training.detectors import detect, train_detector
from analysis.training.processors import train_processor
from analysis.zoo.checkpoints import load_checkpoint
from analysis.zoo.transformer import ResnetGenerator, TransformedProcessor
from tests.bad_input import REAL, assert_one_sentence, run_main, snapshot
from tests.data.test_categories import write_class_folders

BASE = "synthetic:n=200"
# 16 training, 8 validation and 12 test canvases of 48 px made of synthetic 28 px images
CANVAS = ("canvas:base=synthetic:n=200,n=16,n_val=8,n_test=12,size=48,min_side=12,"
          "max_side=24")
TINY_DET = {"width": 8, "fpn_channels": 32}
TINY_P = {"channels": 8, "blocks": 1}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """A checkpoint folder: tiny fcos and retinanet on the canvases, a plain processor of the
    base dataset (a classification processor) and one trained RA through fcos on the canvases,
    and a classifier (the zoo's resnet20, copied)."""
    folder = tmp_path_factory.mktemp("zoo")
    runs = folder.parent / "runs"
    common = {"state_dir": str(runs), "progress": False, "device": "cpu", "epochs": 1}
    for arch in ("fcos", "retinanet"):
        train_detector(arch, dataset=CANVAS, out=str(folder / arch), batch_size=8,
                       arch_kwargs=TINY_DET, val_limit=4, max_steps=2, **common)
    train_processor("sr", "plain", dataset=BASE, out=str(folder / "sr-plain"), batch_size=16,
                    arch_kwargs=TINY_P, val_limit=16, max_steps=2, **common)
    train_processor("sr", "ra", dataset=CANVAS, out=str(folder / "sr-ra-fcos"),
                    detector=str(folder / "fcos"), lam=1.0, batch_size=8, arch_kwargs=TINY_P,
                    val_limit=4, max_steps=2, **common)
    for suffix in (".json", ".safetensors"):
        shutil.copy(REAL / f"resnet20{suffix}", folder / f"resnet20{suffix}")
    return folder


def test_bounds_and_a_processor_equal_the_detectors_own_map_on_those_canvases(zoo):
    result = detection_transfer("sr", CANVAS, folder=zoo, processors=["sr-plain", "sr-ra-fcos"],
                                detectors=["fcos", "retinanet"], n_boot=30, device="cpu",
                                progress=False)
    assert [r["name"] for r in result["rows"]] == [CLEAN, NO_PROCESSING, "sr-plain", "sr-ra-fcos"]
    assert result["n_images"] == 12 and result["baseline"] is None
    test = load_dataset(CANVAS, "test")
    task = create_task("sr")
    plain, _ = load_checkpoint(zoo / "sr-plain", kind="processor")
    direct = {
        CLEAN: None,     # identity processing: the clean canvases themselves
        NO_PROCESSING: lambda x, i: task.upsample(task.degrade_eval(x, i), x.shape[-2:]),
        "sr-plain": lambda x, i: plain(task.degrade_eval(x, i)).clamp(0, 1),
    }
    setting = Setting("sr", CANVAS, zoo, "cpu")
    dets = {d: load_checkpoint(zoo / d, kind="detector")[0] for d in ("fcos", "retinanet")}
    preds, targets, seconds = run_detectors(setting, {"sr-plain": plain}, dets, progress=False)
    for d, det in dets.items():
        for name, transform in direct.items():
            with torch.no_grad():
                expected, truth = detect(det, test, CPU, transform=transform)
            assert len(preds[(name, d)]) == len(expected) == 12
            for got, want in zip(preds[(name, d)], expected):
                assert torch.allclose(got["boxes"], want["boxes"], atol=1e-4)
                assert torch.allclose(got["scores"], want["scores"], atol=1e-5)
            value = mean_average_precision(expected, truth)
            row = next(r for r in result["rows"] if r["name"] == name)
            for key in ("map", "map_50"):
                cell = row["map"][d][key]
                assert cell["value"] == pytest.approx(value[key], abs=1e-6)
                assert cell["low"] <= cell["high"]
            assert seconds[(name, d)] > 0
    rows = {r["name"]: r for r in result["rows"]}
    assert rows[CLEAN]["vs_baseline"] is None and rows["sr-plain"]["vs_baseline"] is None
    # no plain processor of the canvases: the RA one is compared with sr-plain when named
    assert rows["sr-ra-fcos"]["baseline"] is None and rows["sr-ra-fcos"]["vs_baseline"] is None
    result = detection_transfer("sr", CANVAS, folder=zoo, processors=["sr-plain", "sr-ra-fcos"],
                                detectors=["fcos", "retinanet"], baseline="sr-plain", n_boot=30,
                                device="cpu", progress=False)
    rows = {r["name"]: r for r in result["rows"]}
    ra = rows["sr-ra-fcos"]
    assert ra["baseline"] == "sr-plain" and rows["sr-plain"]["baseline"] is None
    assert ra["source"] == "fcos" and ra["source_kind"] == "detector"
    for d in dets:
        assert ra["vs_baseline"][d]["map"]["value"] == pytest.approx(
            ra["map"][d]["map"]["value"] - rows["sr-plain"]["map"][d]["map"]["value"])
    text = format_detection_transfer(result)
    assert "| sr-ra-fcos | ra | fcos (detector) | sr-plain |" in text
    assert "fcos difference" in text


def test_a_transformer_processor_gives_the_detectors_both_views(zoo):
    """RA with transformer: the detectors see T(P(x)) under the processor's name and P(x) in a
    row of its own, each equal to the detector run directly on that view."""
    setting = Setting("sr", CANVAS, zoo, "cpu")
    plain, _ = load_checkpoint(zoo / "sr-plain", kind="processor")
    torch.manual_seed(0)
    transformer = ResnetGenerator(1, ngf=4, blocks=1).eval()
    both = TransformedProcessor(plain, transformer).eval()
    det, _ = load_checkpoint(zoo / "fcos", kind="detector")
    preds, _, _ = run_detectors(setting, {"sr-t": both}, {"fcos": det}, progress=False)
    names = list(dict.fromkeys(n for n, _ in preds))
    assert names == [CLEAN, NO_PROCESSING, "sr-t", "sr-t" + HUMAN_VIEW]
    test = load_dataset(CANVAS, "test")
    task = create_task("sr")
    views = {"sr-t": lambda x, i: transformer(plain(task.degrade_eval(x, i))).clamp(0, 1),
             "sr-t" + HUMAN_VIEW: lambda x, i: plain(task.degrade_eval(x, i)).clamp(0, 1)}
    for name, transform in views.items():
        with torch.no_grad():
            expected, _ = detect(det, test, CPU, transform=transform)
        for got, want in zip(preds[(name, "fcos")], expected, strict=True):
            assert torch.allclose(got["scores"], want["scores"], atol=1e-5)
    # the two views differ, so the rows are two measurements, not one copied
    assert any(not torch.equal(a["scores"], b["scores"]) for a, b in
               zip(preds[("sr-t", "fcos")], preds[("sr-t" + HUMAN_VIEW, "fcos")]))


def test_the_verb_writes_a_result_with_provenance_and_refuses_the_wrong_kinds(zoo, tmp_path,
                                                                            capsys):
    out = tmp_path / "out"
    code, err = run_main(["detection-transfer", "--task", "sr", "--dataset", CANVAS,
                          "--checkpoints", zoo, "--detectors", "fcos", "--processors",
                          "sr-plain", "--boot", "20", "--device", "cpu", "--out", out,
                          "--no-progress", "--json"], capsys)
    assert code == 0, err
    result = json.loads((out / "detection_transfer_sr_scale4.json").read_text())
    assert result["provenance"]["n_images"] == 12
    assert set(result["provenance"]["checkpoints"]) == {"fcos", "sr-plain"}
    assert "detection-transfer" in result["provenance"]["command"]
    assert (out / "detection_transfer_sr_scale4.md").read_text().startswith("# Detection")
    before = snapshot(zoo)
    for option, name, sentence in (
            ("--detectors", "resnet20", "--detectors: resnet20 is a classifier, not a detector"),
            ("--processors", "fcos", "--processors: fcos is a detector, not a processor"),
            ("--processors", "resnet20", "resnet20 is a classifier, not a processor")):
        code, err = run_main(["detection-transfer", "--dataset", CANVAS, "--checkpoints", zoo,
                              option, name, "--device", "cpu", "--out", tmp_path / "no",
                              "--no-progress"], capsys)
        assert_one_sentence(code, err, sentence, status=2)
    assert snapshot(zoo) == before and not (tmp_path / "no").exists()


def test_a_processor_of_another_task_or_dataset_is_refused(zoo):
    with pytest.raises(RAExplorerError, match="restores sr:scale=4, not denoise"):
        detection_transfer("denoise", CANVAS, folder=zoo, processors=["sr-plain"],
                           detectors=["fcos"], n_boot=5, device="cpu", progress=False)
    other = CANVAS.replace("size=48", "size=64")
    with pytest.raises(RAExplorerError, match="--detectors: fcos does not fit"):
        detection_transfer("sr", other, folder=zoo, processors=["sr-plain"],
                           detectors=["fcos"], n_boot=5, device="cpu", progress=False)


def test_detector_ra_keeps_the_detector_and_its_loss_falls(zoo, tmp_path):
    det, card = load_checkpoint(zoo / "fcos", kind="detector")
    before = {k: v.clone() for k, v in det.state_dict().items()}
    out = train_processor("sr", "ra", dataset=CANVAS, out=str(tmp_path / "p"),
                          detector=str(zoo / "fcos"), lam=10.0, epochs=4, batch_size=8,
                          lr=3e-3, arch_kwargs=TINY_P, val_limit=4, state_dir=str(tmp_path),
                          progress=False, device="cpu")
    saved = json.loads(out.read_text())
    losses = [h["train_det"] for h in saved["history"]]
    assert losses[-1] < losses[0], losses
    assert saved["source"] == "fcos" and saved["source_kind"] == "detector"
    assert set(saved["metrics"]) == {"val_psnr", "val_map", "val_map_50"}
    after, _ = load_checkpoint(zoo / "fcos", kind="detector")
    assert all(torch.equal(before[k], v) for k, v in after.state_dict().items())
    # the losses of a frozen detector: gradients reach the images only, BN statistics stay
    from analysis.training.engine import freeze

    freeze(det)
    images, targets, _ = load_dataset(CANVAS, "train").get_batch(torch.arange(4))
    images.requires_grad_(True)
    loss = sum(det.losses(images, targets).values())
    loss.backward()
    assert images.grad is not None and float(images.grad.abs().sum()) > 0
    assert not det.net.training and not any(m.training for m in det.modules())
    assert all(torch.equal(before[k], v) for k, v in det.state_dict().items())
    assert all(p.grad is None for p in det.parameters())


def test_detector_ra_refusals(zoo, tmp_path, capsys):
    with pytest.raises(RAExplorerError, match="takes a classifier, not a detector"):
        train_processor("sr", "ra-unsup", dataset=CANVAS, out=str(tmp_path / "p"),
                        detector=str(zoo / "fcos"), arch_kwargs=TINY_P, device="cpu")
    with pytest.raises(RAExplorerError, match="the recognizer of 'ra' is a detector"):
        train_processor("sr", "ra", dataset=CANVAS, out=str(tmp_path / "p"),
                        recognizer=str(zoo / "resnet20"), arch_kwargs=TINY_P, device="cpu")
    code, err = run_main(["train-processor", "--task", "sr", "--method", "ra", "--dataset",
                          CANVAS, "--detector", zoo / "resnet20", "--out", tmp_path / "p",
                          "--state-dir", tmp_path / "runs", "--no-progress"], capsys)
    assert_one_sentence(code, err, "resnet20 is a classifier checkpoint, not a detector",
                        status=2)
    assert not (tmp_path / "p.json").exists()


def test_detection_ra_processors_are_evaluated_on_classifiers_by_name(zoo, capsys):
    """Table 9's path: a processor trained through a detector on canvases of the base dataset,
    measured by evaluate on the base dataset's classifiers beside the plain one."""
    from analysis.analyses.evaluate import evaluate

    classifier = zoo / "clf"
    train_classifier_tiny(classifier)
    result = evaluate("sr", BASE, folder=zoo, limit=16, batch_size=16, device="cpu",
                      processors=["sr-plain", "sr-ra-fcos"], classifiers=["clf"],
                      progress=False)
    names = [r["name"] for r in result["rows"]]
    assert names == [CLEAN, NO_PROCESSING, "sr-plain", "sr-ra-fcos"]
    ra = result["rows"][-1]
    assert ra["source"] == "fcos" and ra["vs_plain"]["clf"]["diff"] == pytest.approx(
        ra["accuracy"]["clf"]["accuracy"] - result["rows"][2]["accuracy"]["clf"]["accuracy"])


def test_the_result_holds_table_9_the_canvas_trained_processors_on_the_classifiers(zoo, tmp_path):
    """detection-transfer's ``classification`` is the evaluation of the processors trained on
    canvases, after their baseline, on the base dataset's whole test split."""
    from analysis.analyses.detection_transfer import classification_table
    from analysis.analyses.evaluate import evaluate

    train_classifier_tiny(zoo / "clf")
    result = detection_transfer("sr", CANVAS, folder=zoo, processors=["sr-plain", "sr-ra-fcos"],
                                detectors=["fcos"], baseline="sr-plain", n_boot=10,
                                device="cpu", progress=False)
    table = result["classification"]
    assert [r["name"] for r in table["rows"]] == [CLEAN, NO_PROCESSING, "sr-plain", "sr-ra-fcos"]
    assert table["plain"] == "sr-plain" and table["dataset"] == result["dataset"]
    direct = evaluate("sr", BASE, folder=zoo, processors=["sr-plain", "sr-ra-fcos"],
                      device="cpu", progress=False)
    assert table["n_images"] == direct["n_images"] == len(load_dataset(BASE, "test"))
    for got, want in zip(table["rows"], direct["rows"]):
        assert {k: v["correct"] for k, v in got["accuracy"].items()} == {
            k: v["correct"] for k, v in want["accuracy"].items()}
    assert "Detection -> classification (Table 9 analog)" in format_detection_transfer(result)
    bare = tmp_path / "bare"        # the processors alone: no classifier of the base dataset
    bare.mkdir()
    for name in ("sr-plain", "sr-ra-fcos"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(zoo / f"{name}{suffix}", bare / f"{name}{suffix}")
    cards = [load_checkpoint(bare / n)[1] for n in ("sr-plain", "sr-ra-fcos")]
    skipped = classification_table("sr:scale=4", result["dataset"], bare, cards,
                                   {"sr-ra-fcos": "sr-plain"}, device="cpu", progress=False)
    assert skipped == {"skipped": f"the checkpoint folder holds no classifier of {result['dataset']}"}
    assert classification_table("sr:scale=4", result["dataset"], bare, cards[:1], {},
                                device="cpu", progress=False) is None


def test_the_per_canvas_records_count_the_items_each_input_lets_a_detector_find(zoo, tmp_path):
    from analysis.analyses.detection_transfer import load_canvas_records
    from analysis.metrics.detection import match_detections

    result = detection_transfer("sr", CANVAS, folder=zoo, processors=["sr-plain"],
                                detectors=["fcos"], n_boot=5, device="cpu", progress=False)
    setting = Setting("sr", CANVAS, zoo, "cpu")
    plain = load_checkpoint(zoo / "sr-plain", kind="processor")[0]
    det = load_checkpoint(zoo / "fcos", kind="detector")[0]
    preds, targets, _ = run_detectors(setting, {"sr-plain": plain}, {"fcos": det},
                                      progress=False)
    records = result["per_canvas"]
    assert records["truth"] == [len(t["labels"]) for t in targets]
    for name in (CLEAN, NO_PROCESSING, "sr-plain"):
        found = [match_detections({k: v.numpy() for k, v in p.items()},
                                  {k: v.numpy() for k, v in t.items()}, 0.5)[1]
                 for p, t in zip(preds[(name, "fcos")], targets)]
        assert records[f"found|{name}|fcos"] == found
        assert records[f"boxes|{name}|fcos"] == [int((p["scores"] >= 0.5).sum())
                                                 for p in preds[(name, "fcos")]]
    paths = save_detection_transfer(result, tmp_path)
    saved = json.loads(paths[0].read_text())
    assert "per_canvas" not in saved and saved["per_canvas_rule"] == {"score_min": 0.5, "iou": 0.5}
    back = load_canvas_records(tmp_path / saved["per_canvas_file"])
    assert {k: v.tolist() for k, v in back.items()} == records


def train_classifier_tiny(out):
    from analysis.training.classifiers import train_classifier

    if not (out.parent / f"{out.name}.json").exists():
        train_classifier("resnet20", dataset=BASE, out=str(out), epochs=1, batch_size=32,
                         max_steps=1, val_limit=16, state_dir=str(out.parent.parent / "runs"),
                         progress=False, device="cpu")


def test_canvases_of_a_small_image_folder(tmp_path):
    write_class_folders(tmp_path / "imgs", per_class=8, side=16)
    spec = (f"canvas:base=imagefolder:{tmp_path / 'imgs'},n=8,n_val=2,n_test=4,size=48,"
            "min_side=12,max_side=20")
    common = {"state_dir": str(tmp_path / "runs"), "progress": False, "device": "cpu",
              "epochs": 1}
    folder = tmp_path / "ck"
    train_detector("fcos", dataset=spec, out=str(folder / "fcos"), batch_size=4,
                   arch_kwargs=TINY_DET, val_limit=2, max_steps=1, **common)
    train_processor("denoise", "ra", dataset=spec, out=str(folder / "dn-ra-fcos"),
                    detector=str(folder / "fcos"), lam=1.0, batch_size=4, arch_kwargs=TINY_P,
                    val_limit=2, max_steps=1, **common)
    result = detection_transfer("denoise", spec, folder=folder, n_boot=10, device="cpu",
                                progress=False)
    assert [r["name"] for r in result["rows"]] == [CLEAN, NO_PROCESSING, "dn-ra-fcos"]
    assert list(result["detectors"]) == ["fcos"] and result["n_images"] == 4
    paths = save_detection_transfer(result, tmp_path / "results")
    assert [p.name for p in paths] == ["detection_transfer_denoise_sigma0.1.json",
                                       "detection_transfer_denoise_sigma0.1.md",
                                       "detection_transfer_denoise_sigma0.1_canvases.parquet"]


def test_the_figure_kind_draws_the_result_file(zoo, tmp_path):
    from analysis.reporting.paper import FigureOptions, build_figure, save_figure

    result = detection_transfer("sr", CANVAS, folder=zoo, processors=["sr-plain", "sr-ra-fcos"],
                                baseline="sr-plain", n_boot=10, device="cpu", progress=False)
    folder = tmp_path / "results"
    save_detection_transfer(result, folder)
    fig = build_figure("detection-transfer", FigureOptions(task="sr", results=folder,
                                                           checkpoints=zoo, dataset=BASE))
    assert fig.extra["detectors"] == ["fcos", "retinanet"]
    assert len(fig.rows) == 2 * 4       # detectors x (clean, no processing, two processors)
    ra = next(r for r in fig.rows if r["input"] == "sr-ra-fcos" and r["detector"] == "fcos")
    fcos = next(r for r in result["rows"] if r["name"] == "sr-ra-fcos")
    assert ra["map_pct"] == pytest.approx(100 * fcos["map"]["fcos"]["map"]["value"])
    assert ra["map_50_vs_baseline_points"] == pytest.approx(
        100 * fcos["vs_baseline"]["fcos"]["map_50"]["value"])
    written = save_figure(fig, tmp_path / "fig", ["png"], 50)
    assert any(p.suffix == ".png" for p in written) and any(p.suffix == ".csv" for p in written)
