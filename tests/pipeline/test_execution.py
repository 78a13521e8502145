"""The execution plan: exact backends give eager's predictions, each can be turned off, and a
machine without a compiler or without ONNX Runtime falls back with a sentence."""

import math

import numpy as np
import pytest
import torch

import analysis.pipeline.backends as backends
import analysis.pipeline.execution as execution
from analysis.errors import RAExplorerError
from analysis.pipeline.backends import BACKENDS, Backend, count_folded, fold_batchnorm
from analysis.pipeline.execution import Predictor, parse_policy, settled, top1
from analysis.zoo.catalogue import find_checkpoints
from analysis.zoo.checkpoints import load_checkpoint, load_models

FLOAT32 = [n for n, b in BACKENDS.items() if b.precision == "float32"]
CHEAP = [n for n in FLOAT32 if n != "compile"]       # compile is tested once, it takes a while
EMBEDDED = execution.__file__.rsplit("/analysis/", 1)[0] + "/checkpoints"


@pytest.fixture(autouse=True)
def _fresh_plans(monkeypatch, tmp_path):
    """No plan leaks between tests (memory cache), and the disk cache is the test's own."""
    monkeypatch.setenv("RA_RUNS", str(tmp_path / "runs"))
    execution.clear_plans()
    yield
    execution.clear_plans()


@pytest.fixture(autouse=True)
def _default_policy(monkeypatch):
    """These tests exercise the default plan: not the suite's eager setting (conftest)."""
    monkeypatch.delenv("RA_EXECUTION", raising=False)


def eager_top1(model, x):
    with torch.inference_mode():
        return top1(model(x))


def same(a, b) -> bool:
    """Same classes and the same float16 probabilities (what the record table stores)."""
    return torch.equal(a[0], b[0]) and torch.equal(a[1].half(), b[1].half())


def real_shaped(n=192, seed=0):
    """(n, 1, 28, 28) images in [0, 1] with the embedded data's shape: smooth blobs plus noise,
    so that the classifiers' outputs spread over classes (near-ties included)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 1, 7, 7, generator=g)
    x = torch.nn.functional.interpolate(low, size=(28, 28), mode="bilinear", align_corners=False)
    return (x + 0.1 * torch.randn(n, 1, 28, 28, generator=g)).clamp(0, 1)


# ----------------------------------------------------------------------------- the policy

def test_policy_reads_auto_eager_additions_removals_and_names():
    auto = parse_policy("auto")
    assert auto.backends == tuple(n for n, b in BACKENDS.items() if b.default and n != "eager")
    assert auto.tune_batch and auto.exact_probs and not auto.force and not auto.off
    assert parse_policy(None) == parse_policy("") == auto
    assert parse_policy("eager").off and parse_policy("off").off
    more = parse_policy("auto,+compile,+autocast,-onnxruntime,-batch")
    assert "compile" in more.backends and "autocast" in more.backends
    assert "onnxruntime" not in more.backends and not more.tune_batch
    assert more.explicit == ("compile", "autocast")
    only = parse_policy("fold-bn,force,-exact-probs")
    assert only.backends == ("fold-bn",) and only.force and not only.exact_probs


def test_an_unknown_policy_name_is_one_sentence_with_the_close_names(monkeypatch):
    with pytest.raises(RAExplorerError, match=r"Unknown execution option 'fold-b'.*fold-bn"):
        parse_policy("auto,-fold-b")
    monkeypatch.setenv("RA_EXECUTION", "bogus")
    with pytest.raises(RAExplorerError, match="Unknown execution option 'bogus'"):
        Predictor(torch.nn.Identity())


@pytest.mark.parametrize("name", [n for n in BACKENDS if n != "eager"])
def test_each_backend_can_be_turned_off(tiny_zoo, name):
    assert name not in parse_policy(f"auto,+{name},-{name}").backends
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    predictor = Predictor(model, f"auto,+{name},-{name}")
    predictor.classify(real_shaped(40))
    assert name not in {t.backend for t in predictor.plan.trials}


def test_eager_turns_the_plan_off_and_runs_the_model_once_per_batch(tiny_zoo):
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    x = real_shaped(40)
    predictor = Predictor(model, "eager")
    for _ in range(3):
        got = predictor.classify(x)
    assert calls == [40, 40, 40] and predictor.plan.backend == "eager" and not predictor.plan.trials
    assert same(got, eager_top1(model, x))


# ----------------------------------------------------------------------------- exactness

def forced(model, name, x, **kw):
    """A predictor that must use backend ``name`` (no speed comparison, no chunking)."""
    predictor = Predictor(model, f"{name},force,-batch", **kw)
    predictor.classify(x)
    return predictor


@pytest.mark.parametrize("name", CHEAP)
def test_every_exact_backend_gives_eager_predictions_on_the_tiny_zoo(tiny_zoo, name):
    why = BACKENDS[name].unavailable(torch.device("cpu"))
    if why:
        pytest.skip(why)
    for card in find_checkpoints(tiny_zoo, kind="classifier"):
        model, _ = load_checkpoint(card["path"])
        first, later = real_shaped(64, seed=1), real_shaped(100, seed=2)
        predictor = forced(model, name, first)
        assert predictor.plan.backend == name, predictor.plan.notes
        assert predictor.plan.exact in ("guarded", "bitwise")
        assert same(predictor.classify(later), eager_top1(model, later))


@pytest.mark.parametrize("arch", ["resnet20", "densenet-bc", "mobilenetv2", "vgg11-bn"])
def test_exact_backends_give_eager_predictions_on_real_shaped_inputs(arch):
    model, _ = load_checkpoint(f"{EMBEDDED}/{arch}")
    first, later = real_shaped(96, seed=3), real_shaped(200, seed=4)
    expected = eager_top1(model, later)
    for name in CHEAP:
        if BACKENDS[name].unavailable(torch.device("cpu")):
            continue
        execution.clear_plans()
        predictor = forced(model, name, first)
        assert predictor.plan.backend == name, predictor.plan.notes
        assert same(predictor.classify(later), expected), name


def test_the_automatic_plan_gives_eager_predictions_batch_after_batch():
    model, _ = load_checkpoint(f"{EMBEDDED}/resnet20")
    predictor = Predictor(model)
    for seed in range(3):
        x = real_shaped(200, seed=10 + seed)
        assert same(predictor.classify(x), eager_top1(model, x))
    assert predictor.plan.trials[0].backend == "eager"
    assert predictor.plan.speedup >= 1.0 and predictor.summary()


def test_torch_compile_gives_eager_predictions_when_a_compiler_is_there(tiny_zoo):
    why = BACKENDS["compile"].unavailable(torch.device("cpu"))
    if why:
        pytest.skip(why)
    model, _ = load_checkpoint(tiny_zoo / "clf-b")
    first, later = real_shaped(32, seed=5), real_shaped(45, seed=6)   # 45: a padded chunk
    predictor = forced(model, "compile", first)
    assert predictor.plan.backend == "compile", predictor.plan.notes
    assert same(predictor.classify(later), eager_top1(model, later))


def noisy_backend(scale):
    """A float32-like backend whose logits are eager's plus noise of ``scale``: near-ties
    flip and float16 probabilities change unless the guard catches them."""
    def build(model, example):
        def run(x):
            logits = model(x)
            g = torch.Generator().manual_seed(len(x))
            return logits + scale * (2 * torch.rand(logits.shape, generator=g) - 1)
        return run
    return Backend("noisy", "eager plus noise (test only)", "float32", False, build)


def test_the_guard_recomputes_the_rows_the_bound_cannot_vouch_for(tiny_zoo, monkeypatch):
    monkeypatch.setitem(BACKENDS, "noisy", noisy_backend(1e-3))
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    x = real_shaped(200, seed=7)
    predictor = forced(model, "noisy", real_shaped(64, seed=8))
    assert predictor.plan.exact == "guarded" and predictor.plan.eps > 1e-3
    with torch.inference_mode():
        raw = top1(BACKENDS["noisy"].build(model, x)(x))
    expected = eager_top1(model, x)
    assert not same(raw, expected)                       # unguarded, the noise shows
    assert same(predictor.classify(x), expected)         # guarded, it does not
    assert 0 < predictor.rechecked <= len(x)


def test_settled_rows_keep_class_and_float16_probability_under_any_perturbation():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4000, 10, generator=g) * 3
    logits[:50, 0] = 20.0                                # near-ties at the top
    logits[:50, 1] = 20.0 + 2e-5
    eps = 1e-4
    ok = settled(logits, eps)
    assert not ok[:50].any() and 0.5 < ok.float().mean() < 1
    for k in range(20):
        noise = eps * (2 * torch.rand(logits.shape, generator=g) - 1)
        if k % 2:
            noise = eps * torch.sign(noise)              # at the corners of the eps box
        a, b = top1(logits), top1(logits + noise)
        assert torch.equal(a[0][ok], b[0][ok])
        assert torch.equal(a[1][ok].half(), b[1][ok].half())
    assert settled(logits, 0.0, probs=False)[50:].all()
    assert settled(torch.zeros(3, 1), 1.0).all()          # one class: nothing to decide


# ----------------------------------------------------------------------------- reduced precision

def test_reduced_precision_is_off_by_default_and_within_its_tolerance_when_asked_for(tiny_zoo):
    assert "autocast" not in parse_policy("auto").backends
    why = BACKENDS["autocast"].unavailable(torch.device("cpu"))
    if why:
        pytest.skip(why)
    model, _ = load_checkpoint(f"{EMBEDDED}/resnet20")
    x = real_shaped(256, seed=9)
    predictor = Predictor(model, "autocast,force,-batch")
    predictor.classify(x)
    trial = next((t for t in predictor.plan.trials if t.backend == "autocast"), None)
    if trial is None:   # refused: it changed more predictions than the tolerance allows
        assert any("autocast changed" in n for n in predictor.plan.notes)
    else:
        assert trial.exact == "tolerance" and trial.flips <= execution.TOLERANCE * 256
        later = real_shaped(256, seed=10)
        got, expected = predictor.classify(later), eager_top1(model, later)
        assert (got[0] != expected[0]).float().mean() <= 0.02


def test_reduced_precision_beyond_the_tolerance_is_refused_with_a_sentence(tiny_zoo, monkeypatch):
    monkeypatch.setitem(BACKENDS, "blurry", Backend(
        "blurry", "test only", "reduced", False,
        lambda model, example: lambda x: model(x).flip(1)))   # every prediction changes
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    predictor = Predictor(model, "blurry,force,-batch")
    x = real_shaped(50)
    assert same(predictor.classify(x), eager_top1(model, x))
    assert predictor.plan.backend == "eager"
    assert any("blurry changed" in n and "not used" in n for n in predictor.plan.notes)


# ----------------------------------------------------------------------------- fallbacks

def test_a_machine_without_a_compiler_falls_back_with_one_line(tiny_zoo, monkeypatch, capsys):
    monkeypatch.setattr(backends, "find_compiler", lambda: None)
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    x = real_shaped(40)
    predictor = Predictor(model, "auto,+compile")
    got = predictor.classify(x)
    assert same(got, eager_top1(model, x)) and predictor.plan.backend != "compile"
    note = next(n for n in predictor.plan.notes if "compiler" in n)
    assert "torch.compile needs a C/C++ compiler" in note and "\n" not in note
    err = capsys.readouterr().err.strip().splitlines()
    assert [ln for ln in err if "compiler" in ln] == [f"execution: {note}"]


def test_onnxruntime_absent_is_a_sentence_not_a_crash(tiny_zoo, monkeypatch, capsys):
    real = backends.importlib.util.find_spec
    monkeypatch.setattr(backends.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("onnxruntime", "onnx") else real(name, *a))
    why = BACKENDS["onnxruntime"].unavailable(torch.device("cpu"))
    assert why.startswith("ONNX Runtime is optional") and "pip install onnxruntime onnx" in why
    model, _ = load_checkpoint(tiny_zoo / "clf-b")
    x = real_shaped(30)
    quiet = Predictor(model)                          # auto: noted in the plan, not printed
    assert same(quiet.classify(x), eager_top1(model, x)) and why in quiet.plan.notes
    assert "ONNX" not in capsys.readouterr().err
    execution.clear_plans()
    asked = Predictor(model, "onnxruntime")           # named: printed once
    assert same(asked.classify(x), eager_top1(model, x)) and asked.plan.backend != "onnxruntime"
    assert capsys.readouterr().err.count("ONNX Runtime is optional") == 1


def test_a_backend_that_fails_to_build_is_skipped_with_a_note(tiny_zoo, monkeypatch):
    def broken(model, example):
        raise RuntimeError("no kernel for this\nmachine")
    monkeypatch.setitem(BACKENDS, "broken", Backend("broken", "test only", "float32", False, broken))
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    predictor = Predictor(model, "broken,force")
    x = real_shaped(30)
    assert same(predictor.classify(x), eager_top1(model, x)) and predictor.plan.backend == "eager"
    assert "broken failed here (RuntimeError: no kernel for this machine); skipped" in \
        predictor.plan.notes


# ----------------------------------------------------------------------------- caching

def test_the_plan_is_measured_once_per_model_and_kept_on_disk(tiny_zoo, monkeypatch):
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    x = real_shaped(80)
    first = Predictor(model)
    first.classify(x)
    calibrations = []
    measure = Predictor._calibrate
    monkeypatch.setattr(Predictor, "_calibrate",
                        lambda self, x: calibrations.append(1) or measure(self, x))
    again = Predictor(load_checkpoint(tiny_zoo / "clf-a")[0])   # same weights, new object
    again.classify(x)
    assert again.plan is first.plan and not calibrations
    execution.clear_plans()                                   # a new process: the disk cache
    later = Predictor(model)
    assert same(later.classify(x), eager_top1(model, x)) and not calibrations
    assert later.plan.backend == first.plan.backend
    assert any("disk cache" in n for n in later.plan.notes)


def test_the_audit_compares_with_eager_and_falls_back_on_a_difference(tiny_zoo, monkeypatch):
    monkeypatch.setitem(BACKENDS, "noisy", noisy_backend(1e-6))
    model, _ = load_checkpoint(tiny_zoo / "clf-a")
    predictor = forced(model, "noisy", real_shaped(64), audit_every=2)
    assert predictor.plan.exact == "guarded"
    # the backend turns out much noisier than calibration saw: its bound no longer holds
    predictor._run = noisy_backend(0.5).build(model, None)
    x = real_shaped(100, seed=11)
    got = predictor.classify(x)       # batch 2: audited
    assert same(got, eager_top1(model, x)) and predictor.plan.backend == "eager"
    assert any("audit" in n for n in predictor.plan.notes)


# ----------------------------------------------------------------------------- the transforms

def test_folding_batchnorm_keeps_the_module_tree_and_the_function():
    model, _ = load_checkpoint(f"{EMBEDDED}/resnet20")
    folded = fold_batchnorm(model)
    assert count_folded(model) > 0 and count_folded(folded) == 0
    assert folded.feature_names == model.feature_names
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())   # unchanged
    x = real_shaped(16)
    with torch.inference_mode():
        assert torch.allclose(folded(x), model(x), atol=1e-4)


def test_list_backends_says_why_one_cannot_run(monkeypatch):
    monkeypatch.setattr(backends, "find_compiler", lambda: None)
    rows = {r["name"]: r for r in backends.list_backends("cpu")}
    assert rows["eager"]["unavailable"] is None and rows["eager"]["precision"] == "reference"
    assert "compiler" in rows["compile"]["unavailable"]
    assert math.isfinite(execution.SAFETY)
    assert set(rows) == set(BACKENDS)


def test_models_are_never_changed_by_a_plan(tiny_zoo):
    models = load_models(find_checkpoints(tiny_zoo, kind="classifier"), "cpu")
    before = {n: {k: v.clone() for k, v in m.state_dict().items()} for n, m in models.items()}
    for name, model in models.items():
        Predictor(model, "auto,force").classify(real_shaped(40))
        after = model.state_dict()
        assert all(torch.equal(before[name][k], after[k]) for k in after)
        assert not model.training


# ----------------------------------------------------------------------------- where it is used

def test_the_workspace_screening_uses_the_plan_and_gives_eager_predictions(tiny_zoo):
    from analysis.explore.workspace import Workspace
    from analysis.pipeline.runner import stream
    from tests.conftest import SYNTH

    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    table, where = ws.record_table("clf-a")          # no shipped table: measured now
    assert "measured now" in where and table.provenance == {}
    clf = ws.classifiers["clf-a"]
    with torch.inference_mode():
        for batch in stream(ws.task, ws.processors, ws.test, "cpu", 500, len(table),
                            shard=False):
            for name, views in batch.views.items():
                assert np.array_equal(table.pred[(name, "clf-a")],
                                      clf(views.machine).argmax(1).numpy())


def test_the_execution_option_is_checked_and_set_for_the_verb_only(tiny_zoo, monkeypatch, capsys):
    import json
    import os

    from analysis.cli.main import main
    from tests.conftest import SYNTH

    monkeypatch.delenv("RA_EXECUTION", raising=False)
    common = ["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(tiny_zoo),
              "--sample", "12", "--no-progress", "--json"]
    with pytest.raises(SystemExit) as stop:
        main([*common, "--execution", "auto,-fold-b"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Unknown execution option 'fold-b'" in err
    assert main([*common, "--execution", "eager"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {p["backend"] for p in result["provenance"]["execution"].values()} == {"eager"}
    assert "RA_EXECUTION" not in os.environ


def test_the_channels_last_module_computes_the_model_and_is_made_once_per_model():
    model, _ = load_checkpoint(f"{EMBEDDED}/resnet20")
    copy_ = backends.channels_last_copy(model)
    assert backends.channels_last_copy(model) is copy_
    assert next(model.parameters()).is_contiguous()                 # the model is not changed
    x = real_shaped(32, seed=5)
    with torch.inference_mode():
        assert torch.allclose(copy_(x), model(x), atol=1e-4)
        assert torch.equal(copy_(x).argmax(1), model(x).argmax(1))


def test_a_verb_whose_forwards_run_eager_does_not_offer_the_option(capsys):
    """agreement measures with float32 eager forwards: --execution would promise a choice it
    ignores, so the verb does not take it (and says so in one line)."""
    from analysis.cli.main import main

    with pytest.raises(SystemExit):
        main(["agreement", "--help"])
    assert "--execution" not in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main(["agreement", "--task", "sr", "--execution", "eager"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--execution" in err
