"""Bad CLI options: one sentence on stderr and exit status 2, never a traceback (most cases call
``main()`` in this process; a few run ``python -m analysis`` for real to prove that no traceback
reaches the terminal)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from analysis.cli.main import main
from analysis.errors import RAExplorerError
from tests.bad_input import NO_CUDA, REAL, ROOT, SYN, assert_one_sentence, run_main, snapshot

TRAIN = ["train-classifier", "--arch", "resnet20", "--dataset", SYN, "--epochs", "1",
         "--out", "{tmp}/c", "--state-dir", "{tmp}/runs", "--no-progress"]
PROC = ["train-processor", "--dataset", SYN, "--epochs", "1", "--out", "{tmp}/p",
        "--state-dir", "{tmp}/runs", "--no-progress"]
EVAL = ["evaluate", "--no-progress"]

CLI_CASES = [
    # the list
    (EVAL + ["--task", "sr:scale=abc"], "'scale' must be a whole number"),
    (EVAL + ["--task", "sr:scale=0"], "'scale' must be one of 2, 3, 4, 8, 16; got 0"),
    (EVAL + ["--task", "sr:scale=-4"], "got -4"),
    (EVAL + ["--task", "sr", "--sample", "-5"], "--sample: the value must be a whole number of at least 1"),
    (EVAL + ["--task", "sr", "--device", "bogus"], "Unknown device 'bogus'"),
    (EVAL + ["--task", "sr", "--device", NO_CUDA], "CUDA"),
    (TRAIN + ["--arch-kw", "bogus=1"], "'resnet20' takes no option 'bogus'"),
    # task parameters: type, range, names
    (EVAL + ["--task", "sr:scale=5"], "got 5"),
    (EVAL + ["--task", "sr:scale=2.5"], "whole number; got 2.5"),
    (EVAL + ["--task", "sr:scale=true"], "whole number; got True"),
    (EVAL + ["--task", "sr-random:scale=7"], "got 7"),
    (EVAL + ["--task", "compound:scale=0"], "got 0"),
    (EVAL + ["--task", "denoise:sigma=-1"], "'sigma' must be a number from 0 to 1; got -1"),
    (EVAL + ["--task", "denoise:sigma=5"], "got 5"),
    (EVAL + ["--task", "denoise:sigma=abc"], "got 'abc'"),
    (EVAL + ["--task", "denoise:sigma=nan"], "finite"),
    (EVAL + ["--task", "denoise:sigma=inf"], "finite"),
    (EVAL + ["--task", "denoise:clip=3"], "true or false"),
    (EVAL + ["--task", "jpeg:quality=0"], "'quality' must be a whole number from 1 to 100"),
    (EVAL + ["--task", "jpeg:quality=500"], "got 500"),
    (EVAL + ["--task", "jpeg:quality=abc"], "got 'abc'"),
    (EVAL + ["--task", "jpeg:quality=10.5"], "got 10.5"),
    (EVAL + ["--task", "sr:scal=4"], "Did you mean 'scale'"),
    (EVAL + ["--task", "jpeg:qualty=20"], "Did you mean 'quality'"),
    (EVAL + ["--task", "sr:clip=true"], "Task 'sr' has no parameter 'clip'"),
    (EVAL + ["--task", "denoise-random:sigma=1"], "takes no parameters"),
    (EVAL + ["--task", "sr:scale"], "write options as key=value"),
    (EVAL + ["--task", "sr:scale=2,scale=4"], "twice"),
    (EVAL + ["--task", "denoize"], "Did you mean 'denoise'"),
    (["quality", "--task", "sr:scale=abc", "--no-save"], "whole number"),
    (["bd", "--task", "jpeg:quality=-1", "--no-save"], "got -1"),
    (["tsne", "--task", "denoise:sigma=-0.1", "--no-save"], "got -0.1"),
    (PROC + ["--task", "sr:scale=0", "--method", "plain"], "got 0"),
    # numeric options
    (EVAL + ["--task", "sr", "--sample", "0"], "at least 1; got 0"),
    (EVAL + ["--task", "sr", "--sample", "abc"], "whole number; got 'abc'"),
    (EVAL + ["--task", "sr", "--sample", "1.5"], "whole number; got '1.5'"),
    (EVAL + ["--task", "sr", "--batch-size", "0"], "--batch-size"),
    (EVAL + ["--task", "sr", "--seed", "-1"], "--seed"),
    (TRAIN + ["--sample", "-5"], "--sample"),
    (TRAIN + ["--epochs", "0"], "--epochs"),
    (TRAIN + ["--epochs", "-1"], "--epochs"),
    (TRAIN + ["--lr", "nan"], "finite"),
    (TRAIN + ["--lr", "0"], "above 0"),
    (TRAIN + ["--lr=-1e-3"], "above 0"),
    (TRAIN + ["--lr", "-1e-3"], "expected one argument"),   # argparse reads -1e-3 as an option
    (TRAIN + ["--batch-size", "-2"], "--batch-size"),
    (TRAIN + ["--val-first", "0"], "--val-first"),
    (TRAIN + ["--max-steps", "0"], "--max-steps"),
    (TRAIN + ["--pgd-eps", "-0.5"], "--pgd-eps"),
    (TRAIN + ["--pgd-steps", "0"], "--pgd-steps"),
    (TRAIN + ["--weight-decay", "inf"], "finite"),
    (PROC + ["--task", "sr", "--method", "plain", "--lambda", "-1"], "--lambda"),
    (PROC + ["--task", "sr", "--method", "plain", "--patch", "0"], "--patch"),
    (["bd", "--task", "sr", "--sample", "-1", "--no-save"], "--sample"),
    (["bd", "--task", "sr", "--tol", "0", "--no-save"], "--tol"),
    (["bd", "--task", "sr", "--max-dist", "-3", "--no-save"], "--max-dist"),
    (["bd", "--task", "sr", "--scan-steps", "0", "--no-save"], "--scan-steps"),
    (["tsne", "--task", "sr", "--sample", "-1", "--no-save"], "--sample"),
    (["robustness", "--classifier", "resnet20", "--pgd-eps", "-1"], "--pgd-eps"),
    (["robustness", "--classifier", "resnet20", "--pgd-steps", "0"], "--pgd-steps"),
    (["float16-check", "--sample", "0", "--no-save"], "--sample"),
    # devices, datasets, folders, names
    (TRAIN + ["--device", "bogus"], "Unknown device"),
    (TRAIN + ["--device", NO_CUDA], "CUDA"),
    (TRAIN + ["--device", "tpu"], "device"),
    (["quality", "--task", "sr", "--device", "cuda:x", "--no-save"], "device"),
    (EVAL + ["--task", "sr", "--dataset", "fashion-mnits"], "Did you mean 'fashion-mnist'"),
    (EVAL + ["--task", "sr", "--dataset", "synthetic:n=abc"], "'n' of 'synthetic' must be a whole number"),
    (TRAIN[:3] + ["--dataset", "synthetic:n=-5"] + TRAIN[5:], "got -5"),
    (TRAIN[:3] + ["--dataset", "synthetic:sise=8"] + TRAIN[5:], "Did you mean 'size'"),
    (TRAIN[:3] + ["--dataset", "fashion-mnist:n=3"] + TRAIN[5:], "has no option 'n'; it takes categories"),
    (TRAIN[:3] + ["--dataset", "bogus"] + TRAIN[5:], "Unknown dataset 'bogus'"),
    (EVAL + ["--task", "sr", "--checkpoints", "/nonexistent/zoo"], "does not exist"),
    (["list", "checkpoints", "--checkpoints", "/nonexistent/zoo"], "does not exist"),
    (["robustness", "--classifier", "nope"], "does not exist"),
    (["robustness", "--classifier", "sr-plain", "--first", "2", "--pgd-eps", "0.1"],
     "sr-plain is a processor checkpoint, not a classifier"),
    (["quality", "--task", "sr", "--metrics", "ssmi", "--first", "2", "--no-save", "--no-progress"],
     "Did you mean 'ssim'"),
    (["list", "modles"], "invalid choice"),
    (["evaluate", "--bogus-option"], "unrecognized arguments"),
    (["train-classifier", "--out", "x"], "required: --arch"),
    (["no-such-verb"], "invalid choice"),
    (["list", "checkpoints", "--bogus"], "unrecognized arguments"),
    (["survey", "create", "--name", "s", "--catch-rate", "1.5"], "--catch-rate"),
    (["survey", "summary", "--name", "s", "--min-catch-pass", "-0.1"], "--min-catch-pass"),
    (["survey", "create", "--name", "s", "--trials", "0"], "--trials"),
    (["reproduce", "--tasks", "sr,denoize"], "Did you mean 'denoise'"),
    (["recognizer-side", "--tasks", "sr,jpeg:quality=0", "--no-save"], "'quality' must be"),
    # architecture options
    (TRAIN + ["--arch-kw", "width=abc"], "'width' of 'resnet20' must be a whole number"),
    (TRAIN + ["--arch-kw", "width=-3"], "got -3"),
    (TRAIN + ["--arch-kw", "width=0"], "got 0"),
    (TRAIN + ["--arch-kw", "width=2.5"], "got 2.5"),
    (TRAIN + ["--arch-kw", "width=true"], "got True"),
    (TRAIN + ["--arch-kw", "width=100000000"], "got 100000000"),
    (TRAIN + ["--arch-kw", "widht=8"], "Did you mean 'width'"),
    (TRAIN + ["--arch-kw", "width"], "key=value"),
    (TRAIN + ["--arch-kw", "mean=abc"], "list of numbers"),
    (TRAIN[:2] + ["densenet-bc"] + TRAIN[3:] + ["--arch-kw", "blocks=4"], "list of numbers"),
    (TRAIN[:2] + ["vgg11-bn"] + TRAIN[3:] + ["--arch-kw", "width_mult=-1"], "got -1"),
    (TRAIN[:2] + ["srresnet"] + TRAIN[3:], "is a processor, not a classifier"),
    (TRAIN[:2] + ["resnet21"] + TRAIN[3:], "Did you mean"),
    (PROC + ["--task", "sr", "--method", "plain", "--arch-kw", "channels=-8"], "got -8"),
    (PROC + ["--task", "sr", "--method", "plain", "--arch-kw", "scale=5"], "got 5"),
    (PROC + ["--task", "sr", "--method", "plain", "--arch-kw", "bogus=1"], "'srresnet' takes no option"),
    (PROC + ["--task", "sr", "--method", "ra-transformer", "--classifier", str(REAL / "resnet20"),
             "--transformer-kw", "nfg=4"], "Did you mean 'ngf'"),
    # methods and recognizers
    (PROC + ["--task", "sr", "--method", "rra"], "Did you mean 'ra'"),
    (PROC + ["--task", "sr", "--method", "ra"], "needs --classifier"),
    (PROC + ["--task", "sr", "--method", "ra", "--classifier", str(REAL / "sr-plain")],
     "is a processor checkpoint, not a classifier"),
    (PROC + ["--task", "sr", "--method", "plain", "--init", str(REAL / "resnet20")],
     "is a classifier checkpoint, not a processor"),
    (PROC + ["--task", "sr", "--method", "ra", "--classifier", "/nonexistent/clf"], "does not exist"),
    (PROC + ["--task", "sr", "--method", "robust-perceptual", "--classifier", str(REAL / "resnet20")],
     "adversarially trained"),
]


@pytest.mark.parametrize("argv,match", CLI_CASES, ids=[" ".join(a[:1] + a[-4:]) for a, _ in CLI_CASES])
def test_bad_cli_option_is_one_sentence(argv, match, tmp_path, capsys):
    argv = [str(a).replace("{tmp}", str(tmp_path)) for a in argv]
    before = snapshot(ROOT / "results", REAL, tmp_path)
    code, err = run_main(argv, capsys)
    assert_one_sentence(code, err, match)
    assert snapshot(ROOT / "results", REAL, tmp_path) == before


SUBPROCESS_CASES = [
    (["evaluate", "--task", "sr:scale=abc"], 2, "'scale' must be a whole number"),
    (["train-classifier", "--arch", "resnet20", "--arch-kw", "bogus=1", "--dataset", SYN,
      "--out", "{tmp}/c", "--state-dir", "{tmp}/runs", "--no-progress"], 2, "takes no option 'bogus'"),
    (["robustness", "--classifier", "sr-plain", "--first", "2"], 2, "not a classifier"),
]


@pytest.fixture(scope="module")
def subprocess_results(tmp_path_factory):
    """Run every subprocess case at once (each pays the torch import): {index: (code, stderr)}."""
    tmp = tmp_path_factory.mktemp("sub")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cases = SUBPROCESS_CASES + [(["--debug", "evaluate", "--task", "sr", "--sample", "2",
                                  "--checkpoints", str(tmp), "--no-progress"], 2, "Traceback")]
    procs = [subprocess.Popen([sys.executable, "-m", "analysis",
                               *[a.replace("{tmp}", str(tmp)) for a in argv]], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for argv, _, _ in cases]
    return [(p.wait(timeout=300), p.communicate()[1]) for p in procs]


@pytest.mark.parametrize("index", range(len(SUBPROCESS_CASES)),
                         ids=[" ".join(c[0][:3]) for c in SUBPROCESS_CASES])
def test_no_traceback_reaches_the_terminal(index, subprocess_results):
    code, err = subprocess_results[index]
    _, status, match = SUBPROCESS_CASES[index]
    assert_one_sentence(code, err, match, status)


def test_debug_shows_the_traceback(subprocess_results):
    code, err = subprocess_results[-1]
    assert code == 1 and "Traceback" in err and "No classifier checkpoints" in err


def test_debug_flag_reraises_in_process(tmp_path):
    with pytest.raises(RAExplorerError, match="No classifier checkpoints"):
        main(["evaluate", "--task", "sr", "--checkpoints", str(tmp_path), "--debug"])


def test_unexpected_errors_are_one_line_too(capsys, monkeypatch):
    """A bug (here a forced ZeroDivisionError) still prints one line, with status 1."""
    import analysis.zoo as zoo

    monkeypatch.setattr(zoo, "list_models", lambda kind=None: 1 / 0)
    code, err = run_main(["list", "models"], capsys)
    assert_one_sentence(code, err, "Unexpected ZeroDivisionError", status=1)
    assert "--debug" in err


def test_the_case_count():
    assert len(CLI_CASES) + len(SUBPROCESS_CASES) >= 50
