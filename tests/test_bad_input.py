"""The bad-input table (issue 17): every bad input gets one sentence, never a traceback.

One parametrised test per surface -- CLI options, checkpoint folders, uploads, training
state files (resume and float16-check) -- each asserting the exit status, exactly one line
on stderr naming the problem, no "Traceback", and that nothing saved changed (SHA-256 of
every file in the folders concerned, before and after). Most CLI cases call ``main()`` in
this process (a subprocess costs ~3 s of torch import); a few run ``python -m analysis``
for real to prove that no traceback reaches the terminal.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch

from analysis.cli.main import main
from analysis.errors import RAExplorerError
from analysis.explore.upload import read_upload
from analysis.zoo.checkpoints import load_card, load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "checkpoints"
SYN = "synthetic:n=64"
NO_CUDA = "cuda" if not torch.cuda.is_available() else f"cuda:{torch.cuda.device_count()}"


# ----------------------------------------------------------------------------- helpers

def snapshot(*folders) -> dict:
    """{path: SHA-256} of every file under ``folders`` (what 'nothing saved changed' compares)."""
    out = {}
    for folder in folders:
        for p in sorted(Path(folder).rglob("*")):
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def run_main(argv, capsys) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:   # argparse errors exit
        code = exc.code
    return code, capsys.readouterr().err


def tensor_bytes(path) -> dict:
    """{name: raw bytes} of a safetensors file (its header's metadata order is not fixed)."""
    from safetensors.torch import load_file

    return {k: v.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
            for k, v in load_file(str(path)).items()}


def assert_one_sentence(code, err, match, status=2):
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert code == status, (code, err)
    assert len(lines) == 1, err
    assert match.lower() in lines[0].lower(), lines[0]


# ----------------------------------------------------------------------------- CLI options

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
    (EVAL + ["--task", "sr", "--limit", "-5"], "--limit: the value must be a whole number of at least 1"),
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
    (["boundaries", "--task", "jpeg:quality=-1", "--no-save"], "got -1"),
    (["features", "--task", "denoise:sigma=-0.1", "--no-save"], "got -0.1"),
    (PROC + ["--task", "sr:scale=0", "--method", "plain"], "got 0"),
    # numeric options
    (EVAL + ["--task", "sr", "--limit", "0"], "at least 1; got 0"),
    (EVAL + ["--task", "sr", "--limit", "abc"], "whole number; got 'abc'"),
    (EVAL + ["--task", "sr", "--limit", "1.5"], "whole number; got '1.5'"),
    (EVAL + ["--task", "sr", "--batch-size", "0"], "--batch-size"),
    (EVAL + ["--task", "sr", "--seed", "-1"], "--seed"),
    (TRAIN + ["--limit", "-5"], "--limit"),
    (TRAIN + ["--epochs", "0"], "--epochs"),
    (TRAIN + ["--epochs", "-1"], "--epochs"),
    (TRAIN + ["--lr", "nan"], "finite"),
    (TRAIN + ["--lr", "0"], "above 0"),
    (TRAIN + ["--lr=-1e-3"], "above 0"),
    (TRAIN + ["--lr", "-1e-3"], "expected one argument"),   # argparse reads -1e-3 as an option
    (TRAIN + ["--batch-size", "-2"], "--batch-size"),
    (TRAIN + ["--val-limit", "0"], "--val-limit"),
    (TRAIN + ["--max-steps", "0"], "--max-steps"),
    (TRAIN + ["--adv-eps", "-0.5"], "--adv-eps"),
    (TRAIN + ["--adv-steps", "0"], "--adv-steps"),
    (TRAIN + ["--weight-decay", "inf"], "finite"),
    (PROC + ["--task", "sr", "--method", "plain", "--lambda", "-1"], "--lambda"),
    (PROC + ["--task", "sr", "--method", "plain", "--patch", "0"], "--patch"),
    (["boundaries", "--task", "sr", "--limit", "-1", "--no-save"], "--limit"),
    (["boundaries", "--task", "sr", "--tol", "0", "--no-save"], "--tol"),
    (["boundaries", "--task", "sr", "--max-dist", "-3", "--no-save"], "--max-dist"),
    (["boundaries", "--task", "sr", "--steps", "0", "--no-save"], "--steps"),
    (["features", "--task", "sr", "--n", "-1", "--no-save"], "--n"),
    (["robustness", "--classifier", "resnet20", "--eps", "-1"], "--eps"),
    (["robustness", "--classifier", "resnet20", "--steps", "0"], "--steps"),
    (["float16-check", "--limit", "0", "--no-save"], "--limit"),
    # devices, datasets, folders, names
    (TRAIN + ["--device", "bogus"], "Unknown device"),
    (TRAIN + ["--device", NO_CUDA], "CUDA"),
    (TRAIN + ["--device", "tpu"], "device"),
    (["quality", "--task", "sr", "--device", "cuda:x", "--no-save"], "device"),
    (EVAL + ["--task", "sr", "--dataset", "fashion-mnits"], "Did you mean 'fashion-mnist'"),
    (EVAL + ["--task", "sr", "--dataset", "synthetic:n=abc"], "'n' of 'synthetic' must be a whole number"),
    (TRAIN[:3] + ["--dataset", "synthetic:n=-5"] + TRAIN[5:], "got -5"),
    (TRAIN[:3] + ["--dataset", "synthetic:sise=8"] + TRAIN[5:], "Did you mean 'size'"),
    (TRAIN[:3] + ["--dataset", "fashion-mnist:n=3"] + TRAIN[5:], "takes no options"),
    (TRAIN[:3] + ["--dataset", "bogus"] + TRAIN[5:], "Unknown dataset 'bogus'"),
    (EVAL + ["--task", "sr", "--checkpoints", "/nonexistent/zoo"], "does not exist"),
    (["zoo", "--checkpoints", "/nonexistent/zoo"], "does not exist"),
    (["robustness", "--classifier", "nope"], "does not exist"),
    (["robustness", "--classifier", "sr-plain", "--limit", "2", "--eps", "0.1"],
     "sr-plain is a processor checkpoint, not a classifier"),
    (["quality", "--task", "sr", "--metrics", "ssmi", "--limit", "2", "--no-save", "--no-progress"],
     "Did you mean 'ssim'"),
    (["list", "modles"], "invalid choice"),
    (["evaluate", "--bogus-option"], "unrecognized arguments"),
    (["train-classifier", "--out", "x"], "required: --arch"),
    (["no-such-verb"], "invalid choice"),
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
    (PROC + ["--task", "sr", "--method", "ra-transformer", "--recognizer", str(REAL / "resnet20"),
             "--transformer-kw", "nfg=4"], "Did you mean 'ngf'"),
    # methods and recognizers
    (PROC + ["--task", "sr", "--method", "rra"], "Did you mean 'ra'"),
    (PROC + ["--task", "sr", "--method", "ra"], "needs --recognizer"),
    (PROC + ["--task", "sr", "--method", "ra", "--recognizer", str(REAL / "sr-plain")],
     "is a processor checkpoint, not a classifier"),
    (PROC + ["--task", "sr", "--method", "plain", "--init", str(REAL / "resnet20")],
     "is a classifier checkpoint, not a processor"),
    (PROC + ["--task", "sr", "--method", "ra", "--recognizer", "/nonexistent/clf"], "does not exist"),
    (PROC + ["--task", "sr", "--method", "robust-perceptual", "--recognizer", str(REAL / "resnet20")],
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
    (["robustness", "--classifier", "sr-plain", "--limit", "2"], 2, "not a classifier"),
]


@pytest.fixture(scope="module")
def subprocess_results(tmp_path_factory):
    """Run every subprocess case at once (each pays the torch import): {index: (code, stderr)}."""
    tmp = tmp_path_factory.mktemp("sub")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cases = SUBPROCESS_CASES + [(["--debug", "evaluate", "--task", "sr", "--limit", "2",
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


# ----------------------------------------------------------------------------- checkpoint folders

def _edit(name, change):
    """A case that rewrites the card NAME.json with ``change(card)``."""
    def apply(folder: Path):
        path = folder / f"{name}.json"
        card = json.loads(path.read_text())
        change(card)
        path.write_text(json.dumps(card))
    return apply


def _set(name, *keys_value):
    *keys, value = keys_value

    def change(card):
        target = card
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
    return _edit(name, change)


def _delete(name, key):
    return _edit(name, lambda card: card.pop(key))


def _write(rel, data: bytes):
    return lambda folder: (folder / rel).write_bytes(data)


def _truncate(rel):
    def apply(folder):
        data = (folder / rel).read_bytes()
        (folder / rel).write_bytes(data[: len(data) // 2])
    return apply


def _resave(name, change):
    """Re-save checkpoint NAME with its weights changed by ``change(state_dict)``, the card's
    SHA-256 kept consistent (as a diverged training run would write it)."""
    def apply(folder):
        model, card = load_checkpoint(folder / name)
        state = model.state_dict()
        change(state)
        model.load_state_dict(state)
        keep = {k: v for k, v in card.items() if k not in ("path", "weights", "format", "name")}
        save_checkpoint(model, keep, folder / name)
    return apply


def _nan(state):
    state["fc.weight"][0, 0] = float("nan")


def _inf(state):
    state["stages.stem.0.weight"].fill_(float("inf"))


def _pickle(folder):
    marker = folder / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"x": Evil()}, folder / "resnet20.safetensors")


def _interrupted(folder):
    """Kill between the weights and the card: new weights, old card, the marker left."""
    model, card = load_checkpoint(folder / "resnet20")
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    keep = {k: v for k, v in card.items() if k not in ("path", "weights", "format", "name")}
    with mock.patch("analysis.zoo.checkpoints._write_card", side_effect=KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            save_checkpoint(model, keep, folder / "resnet20")


def _interrupted_first_save(folder):
    _interrupted(folder)
    (folder / "resnet20.json").unlink()


def _swap_weights(folder):
    shutil.copy(folder / "resnet32.safetensors", folder / "resnet20.safetensors")


def _replaced(folder):
    """The card re-saved for other weights, then the old weights put back: a real edit."""
    shutil.copy(folder / "resnet20.safetensors", folder.parent / "old.safetensors")
    _resave("resnet20", lambda state: state["fc.bias"].add_(1.0))(folder)
    shutil.copy(folder.parent / "old.safetensors", folder / "resnet20.safetensors")


def _outside_file(folder):
    shutil.copy(folder / "resnet20.safetensors", folder.parent / "outside.safetensors")
    _set("resnet20", "weights", "file", "../outside.safetensors")(folder)


CHECKPOINT_CASES = {
    # the list
    "arch_kwargs a string": (_set("resnet20", "arch_kwargs", "width=16"), "must be a mapping"),
    "arch_kwargs unknown key": (_set("resnet20", "arch_kwargs", "bogus", 1),
                                "'resnet20' takes no option 'bogus'"),
    "arch_kwargs bad value": (_set("resnet20", "arch_kwargs", "width", "abc"),
                              "'width' of 'resnet20' must be a whole number"),
    "weights not an object": (_set("resnet20", "weights", "resnet20.safetensors"),
                              "'weights' must be an object"),
    "weights outside the folder": (_outside_file, "must be a plain file name"),
    "weights full of NaN": (_resave("resnet20", _nan), "NaN values (1 of 640) in the tensor 'fc.weight'"),
    "weights full of Inf": (_resave("resnet20", _inf), "infinite values"),
    "processor loaded as classifier": (lambda f: None, "not a classifier"),   # --classifier sr-plain
    "interrupted save": (_interrupted, "training was interrupted"),
    # more card fields
    "arch_kwargs negative": (_set("resnet20", "arch_kwargs", "width", -3), "got -3"),
    "arch_kwargs huge": (_set("resnet20", "arch_kwargs", "width", 10**9), "got 1000000000"),
    "arch_kwargs bool": (_set("resnet20", "arch_kwargs", "width", True), "got True"),
    "arch_kwargs float for int": (_set("resnet20", "arch_kwargs", "width", 4.5), "got 4.5"),
    "arch_kwargs list": (_set("resnet20", "arch_kwargs", [16]), "must be a mapping"),
    "arch_kwargs null": (_set("resnet20", "arch_kwargs", None), "must be a mapping"),
    "mean not numbers": (_set("resnet20", "arch_kwargs", "mean", "x"), "list of numbers"),
    "mean with NaN": (_set("resnet20", "arch_kwargs", "mean", [float("nan")]), "finite"),
    "arch_kwargs wrong width": (_set("resnet20", "arch_kwargs", "width", 8), "shape"),
    "arch unknown": (_set("resnet20", "arch", "resnet21"), "Did you mean"),
    "arch a number": (_set("resnet20", "arch", 20), "'arch' must be a string"),
    "kind unknown": (_set("resnet20", "kind", "bogus"), "'kind' must be one of"),
    "kind contradicts arch": (_set("resnet20", "kind", "processor"), "is a classifier, but the card says"),
    "name not a string": (_set("resnet20", "name", 7), "'name' must be a non-empty string"),
    "format other": (_set("resnet20", "format", "other/9"), "has format 'other/9'"),
    "field missing": (_delete("resnet20", "arch_kwargs"), "lacks the field"),
    "weights null": (_set("resnet20", "weights", None), "'weights' must be an object"),
    "weights.file absolute": (_set("resnet20", "weights", "file", "/etc/passwd"), "plain file name"),
    "weights.file in a sub-folder": (_set("resnet20", "weights", "file", "sub/x.safetensors"),
                                     "plain file name"),
    "weights.file dot-dot": (_set("resnet20", "weights", "file", ".."), "plain file name"),
    "weights.file a number": (_set("resnet20", "weights", "file", 3), "plain file name"),
    "weights.sha256 not hex": (_set("resnet20", "weights", "sha256", "xyz"), "64 lower-case hex"),
    "weights.dtype unknown": (_set("resnet20", "weights", "dtype", "int8"), "'weights.dtype'"),
    "weights.num_parameters text": (_set("resnet20", "weights", "num_parameters", "many"),
                                    "num_parameters"),
    "lambda text": (_set("resnet20", "lambda", "abc"), "'lambda' must be a finite number"),
    "epochs negative": (_set("resnet20", "epochs", -1), "'epochs'"),
    "metrics a string": (_set("resnet20", "metrics", "good"), "'metrics' must be an object"),
    "history a dict": (_set("resnet20", "history", {}), "'history' must be a list"),
    "card not JSON": (_write("resnet20.json", b"{not json"), "not valid JSON"),
    "card a list": (_write("resnet20.json", b"[]"), "not a JSON object"),
    "card empty": (_write("resnet20.json", b""), "not valid JSON"),
    "card binary": (_write("resnet20.json", b"\xff\xfe\x00\x01"), "not valid JSON"),
    "card missing": (lambda f: (f / "resnet20.json").unlink(), "does not exist"),
    # weights files
    "weights missing": (lambda f: (f / "resnet20.safetensors").unlink(), "does not exist"),
    "weights truncated": (_truncate("resnet20.safetensors"), "corrupt or truncated"),
    "weights empty": (_write("resnet20.safetensors", b""), "corrupt or truncated"),
    "weights a pickle": (_pickle, "pickled PyTorch file"),
    "weights of another architecture": (_swap_weights,
                                        "saved from 'resnet32'; the card and weights disagree"),
    "weights replaced (no marker)": (_replaced, "replaced or edited"),
    "interrupted first save": (_interrupted_first_save, "training was interrupted"),
    # the transformer of an RA-with-transformer card and a processor's scale
    "transformer unknown key": (_set("denoise-ra-transformer", "transformer", "arch_kwargs", "bogus", 1),
                                "'cyclegan-resnet' takes no option 'bogus'"),
    "transformer a string": (_set("denoise-ra-transformer", "transformer", "cyclegan"),
                             "'transformer' must be an object"),
    "transformer of a classifier": (_set("denoise-ra-transformer", "transformer", "arch", "resnet20"),
                                    "is a classifier, but the card says kind 'transformer'"),
    "srresnet scale 5": (_set("sr-plain", "arch_kwargs", "scale", 5), "got 5"),
}
USES = {"processor loaded as classifier": "sr-plain", "transformer unknown key": "denoise-ra-transformer",
        "transformer a string": "denoise-ra-transformer",
        "transformer of a classifier": "denoise-ra-transformer", "srresnet scale 5": "sr-plain"}


@pytest.fixture(scope="module")
def real_zoo(tmp_path_factory):
    """Copies of four real checkpoints of checkpoints/ (cards and weights)."""
    base = tmp_path_factory.mktemp("real") / "zoo"
    base.mkdir()
    for name in ("resnet20", "resnet32", "sr-plain", "denoise-ra-transformer"):
        for suffix in (".json", ".safetensors"):
            shutil.copy(REAL / f"{name}{suffix}", base / f"{name}{suffix}")
    return base


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_damaged_checkpoint_folder_is_one_sentence(case, real_zoo, tmp_path, capsys):
    folder = tmp_path / "zoo"
    shutil.copytree(real_zoo, folder)
    damage, match = CHECKPOINT_CASES[case]
    damage(folder)
    before = snapshot(tmp_path, ROOT / "results")
    name = USES.get(case, "resnet20")
    code, err = run_main(["robustness", "--checkpoints", folder, "--classifier", name,
                          "--limit", "2", "--eps", "0.1"], capsys)
    assert_one_sentence(code, err, match)
    assert snapshot(tmp_path, ROOT / "results") == before
    assert not (folder / "pwned").exists()    # no pickle payload ever runs


def test_interrupted_save_is_told_apart_from_an_edit(real_zoo, tmp_path):
    """The marker decides: without it the same mismatch is 'replaced or edited'."""
    folder = tmp_path / "zoo"
    shutil.copytree(real_zoo, folder)
    _interrupted(folder)
    with pytest.raises(RAExplorerError, match="run the same training command again with --resume"):
        load_checkpoint(folder / "resnet20")
    (folder / "resnet20.saving").unlink()
    with pytest.raises(RAExplorerError, match="replaced or edited"):
        load_checkpoint(folder / "resnet20")


def test_zoo_lists_the_good_cards_and_names_each_broken_one(real_zoo, tmp_path, capsys):
    folder = tmp_path / "zoo"
    shutil.copytree(real_zoo, folder)
    _set("resnet32", "arch_kwargs", "bogus", 1)(folder)
    code, err = run_main(["zoo", "--checkpoints", folder], capsys)
    assert code == 0 and "Traceback" not in err
    assert err.strip().splitlines() == [err.strip()]     # one line: the one broken card
    assert "resnet32.json" in err and "takes no option 'bogus'" in err


# ----------------------------------------------------------------------------- uploads

def png(width: int, height: int, chunk_rows: int = 512) -> bytes:
    """A real grayscale PNG of zeros, compressed as it is generated (never held raw)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    parts = [z.compress(row * min(chunk_rows, height - r)) for r in range(0, height, chunk_rows)]
    idat = b"".join(parts) + z.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def pil_bytes(array, fmt="PNG") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format=fmt)
    return buf.getvalue()


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header (SOF0) claims ``width`` x ``height``."""
    data = bytearray(pil_bytes(np.zeros((8, 8), dtype=np.uint8), "JPEG"))
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _small_png() -> bytes:
    return pil_bytes((np.random.default_rng(0).random((40, 40)) * 255).astype(np.uint8))


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _ico() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (16, 16)).save(buf, format="ICO")
    return buf.getvalue()


TOO_LARGE = "decompression-bomb guard"
UPLOAD_CASES = {
    # the list
    "200-megapixel PNG": (lambda: png(20000, 10000), TOO_LARGE),
    "JPEG claiming 65,500 x 65,500": (lambda: jpeg_claiming(65500, 65500), TOO_LARGE),
    "1 x 16,777,216 PNG": (lambda: png(16_777_216, 1), TOO_LARGE),
    "1 x 1,000,000 PNG": (lambda: png(1_000_000, 1), TOO_LARGE),
    "16,777,216 x 1 PNG": (lambda: png(1, 16_777_216, chunk_rows=1 << 20), TOO_LARGE),
    # more sizes and shapes
    "100-megapixel PNG (PIL's warning range)": (lambda: png(10000, 10000), TOO_LARGE),
    "25-megapixel square PNG": (lambda: png(5000, 5000), TOO_LARGE),
    "8,193 px side": (lambda: png(8193, 1100), TOO_LARGE),
    "aspect 9:1": (lambda: png(900, 100), TOO_LARGE),
    "aspect 1:100": (lambda: png(10, 1000), TOO_LARGE),
    "JPEG claiming 60,000 x 1": (lambda: jpeg_claiming(60000, 1), TOO_LARGE),
    # files that are not images, or not whole
    "empty": (lambda: b"", "empty"),
    "over 8 MiB": (lambda: b"\x89PNG" + b"0" * (9 * 2**20), "limit is 8 MiB"),
    "PDF": (lambda: b"%PDF-1.4 not an image at all", "not an image"),
    "text": (lambda: b"hello, this is a text file\n" * 10, "not an image"),
    "random bytes": (lambda: np.random.default_rng(1).bytes(4096), "not an image"),
    "zip archive": (lambda: b"PK\x03\x04" + b"\x00" * 100, "not an image"),
    "SVG": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "not an image"),
    "PNG signature only": (lambda: b"\x89PNG\r\n\x1a\n", "not an image"),
    "truncated PNG": (lambda: _small_png()[:200], "truncated"),
    "truncated JPEG": (lambda: _half(pil_bytes((np.random.default_rng(2).random((64, 64)) * 255)
                                              .astype(np.uint8), "JPEG")), "truncated"),
    "PNG with a broken IDAT": (lambda: _small_png()[:60] + b"\x00" * 40 + _small_png()[100:],
                               "could not be decoded"),
    "ICO file": (_ico, "is a ICO file"),
}


@pytest.mark.parametrize("case", list(UPLOAD_CASES))
def test_bad_upload_is_one_sentence(case, monkeypatch):
    from PIL import ImageFile

    make, match = UPLOAD_CASES[case]
    data = make()
    if match == TOO_LARGE:   # refused from the header: decoding would be a failure of the guard
        monkeypatch.setattr(ImageFile.ImageFile, "load",
                            lambda self: pytest.fail("decoded before the size check"))
    t0 = time.perf_counter()
    with pytest.raises(RAExplorerError) as info:
        read_upload(data, channels=1, size=28)
    message = str(info.value)
    assert "\n" not in message and match in message, message
    assert "DecompressionBomb" not in message and "Traceback" not in message
    assert time.perf_counter() - t0 < 2.0


def test_memory_error_while_decoding_is_the_size_sentence(monkeypatch):
    from PIL import Image

    monkeypatch.setattr(Image.Image, "convert", lambda *a, **k: (_ for _ in ()).throw(MemoryError()))
    with pytest.raises(RAExplorerError, match=TOO_LARGE):
        read_upload(_small_png(), channels=1, size=28)


def test_pil_bomb_error_is_the_size_sentence(monkeypatch):
    """Even with our own limits raised, PIL's DecompressionBombError becomes the same sentence."""
    import analysis.explore.upload as explore

    monkeypatch.setattr(explore, "MAX_UPLOAD_SIDE", 10**9)
    monkeypatch.setattr(explore, "MAX_UPLOAD_PIXELS", 10**12)
    monkeypatch.setattr(explore, "MAX_UPLOAD_ASPECT", 10**9)
    with pytest.raises(RAExplorerError, match=TOO_LARGE):
        read_upload(jpeg_claiming(65500, 65500), channels=1, size=28)


def test_a_good_upload_still_loads():
    x = read_upload(_small_png(), channels=1, size=28)
    assert x.shape == (1, 28, 28) and 0 <= float(x.min()) <= float(x.max()) <= 1
    x = read_upload(png(800, 100), channels=3, size=32)   # 8:1, the largest aspect allowed
    assert x.shape == (3, 32, 32)


# ----------------------------------------------------------------------------- image metrics

def _img(*shape, fill=None):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(0))
    if fill is not None:
        x[0, 0, 0, 0] = fill
    return x


METRIC_CASES = {
    "NaN": (lambda: (_img(1, 1, 16, 16, fill=float("nan")), _img(1, 1, 16, 16)), "NaN values"),
    "NaN in the reference": (lambda: (_img(1, 1, 16, 16), _img(1, 1, 16, 16, fill=float("nan"))),
                             "reference"),
    "infinity": (lambda: (_img(1, 1, 16, 16, fill=float("inf")), _img(1, 1, 16, 16)), "in [0, 1]"),
    "above 1": (lambda: (_img(1, 1, 16, 16) * 2, _img(1, 1, 16, 16)), "in [0, 1]"),
    "below 0": (lambda: (_img(1, 1, 16, 16) - 0.5, _img(1, 1, 16, 16)), "in [0, 1]"),
    "0-255 floats": (lambda: (_img(1, 1, 16, 16) * 255, _img(1, 1, 16, 16) * 255), "in [0, 1]"),
    "uint8 images": (lambda: ((_img(1, 1, 16, 16) * 255).to(torch.uint8),) * 2, "torch.uint8"),
    "shapes differ": (lambda: (_img(1, 1, 16, 16), _img(1, 1, 17, 16)), "same shape"),
    "no batch axis": (lambda: (_img(1, 16, 16), _img(1, 16, 16)), "same shape"),
    "two channels": (lambda: (_img(1, 2, 16, 16), _img(1, 2, 16, 16)), "1 or 3"),
    "empty batch": (lambda: (torch.rand(0, 1, 16, 16), torch.rand(0, 1, 16, 16)), "same shape"),
    "numpy arrays": (lambda: (np.zeros((1, 1, 16, 16)), np.zeros((1, 1, 16, 16))), "torch tensors"),
}


@pytest.mark.parametrize("metric", ["psnr", "ssim", "gmsd"])
@pytest.mark.parametrize("case", list(METRIC_CASES))
def test_bad_metric_input_is_one_sentence(case, metric):
    from analysis.metrics.registry import create_metric

    make, match = METRIC_CASES[case]
    with pytest.raises(RAExplorerError) as info:
        create_metric(metric, device="cpu")(*make())
    assert match in str(info.value) and "\n" not in str(info.value), str(info.value)
    assert isinstance(info.value, ValueError)       # callers that caught ValueError still do


def test_metric_tolerates_float_rounding_at_the_ends():
    from analysis.metrics.registry import create_metric

    x = _img(1, 1, 16, 16)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 1.0, 0.0
    y = x.clone()
    y[0, 0, 0, 0], y[0, 0, 0, 1] = 1 + 1e-6, -1e-6         # clamped, not refused
    assert float(create_metric("psnr", device="cpu")(x, y)) > 60


# ----------------------------------------------------------------------------- training state files

CLF_1 = ["train-classifier", "--arch", "resnet20", "--arch-kw", "width=4", "--dataset", SYN,
         "--batch-size", "32", "--val-limit", "16", "--no-progress", "--epochs", "1"]
PRO_1 = ["train-processor", "--task", "sr", "--method", "ra", "--lambda", "0.1",
         "--arch-kw", "channels=4", "blocks=1", "--dataset", SYN, "--batch-size", "32",
         "--val-limit", "16", "--no-progress", "--epochs", "1"]
CLF = CLF_1[:-1] + ["2"]     # the resumed runs ask for a second epoch
PRO = PRO_1[:-1] + ["2"]


def _paths(d: Path, name: str):
    return ["--out", d / "zoo" / name, "--state-dir", d / "runs"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch of a tiny classifier ``c`` and an RA processor ``p`` (recognizer ``c``), their
    states in runs/; ``c2`` is another classifier (other weights) for the recognizer case."""
    d = tmp_path_factory.mktemp("trained")
    assert main([str(a) for a in CLF_1 + _paths(d, "c")]) == 0
    assert main([str(a) for a in CLF_1 + ["--seed", "1"] + _paths(d, "c2")]) == 0
    assert main([str(a) for a in PRO_1 + _paths(d, "p") + ["--recognizer", d / "zoo" / "c"]]) == 0
    return d


def _state(d):
    return d / "runs" / "c.state.pt"


def _rewrite_state(change, name="c"):
    def apply(d):
        path = d / "runs" / f"{name}.state.pt"
        state = torch.load(path, weights_only=True)
        change(state)
        torch.save(state, path)
    return apply


def _foreign_state(d):
    torch.save({"weights": torch.zeros(3)}, _state(d))


def _evil_state(d):
    marker = d / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"model": Evil()}, _state(d))


def _other_arch_state(d):
    """A state whose weights belong to vgg11-bn, without an identity (as before identities)."""
    from analysis.zoo import create_model

    def change(state):
        state["model"] = create_model("vgg11-bn", width_mult=0.125).state_dict()
        del state["identity"]
    _rewrite_state(change)(d)


def _identity(**changes):
    def change(state):
        identity = json.loads(state["identity"])
        identity.update(changes)
        state["identity"] = json.dumps(identity)
    return _rewrite_state(change)


def _swap(argv, old, new):
    out = list(argv)
    out[out.index(old)] = new
    return out


RESUME = "delete it or run without --resume"
RESUME_CASES = {
    # the list
    "truncated state": (_truncate("runs/c.state.pt"), CLF, "c", "is damaged"),
    "empty state": (_write("runs/c.state.pt", b""), CLF, "c", "is damaged"),
    "foreign state": (_foreign_state, CLF, "c", "is not an RA Explorer training state"),
    "another architecture": (None, _swap(CLF, "resnet20", "vgg11-bn")[:3] + ["--arch-kw", "width_mult=0.125"]
                             + CLF[5:], "c", "architecture 'resnet20' there, 'vgg11-bn' here"),
    "another dataset": (None, _swap(CLF, SYN, "synthetic:n=80"), "c",
                        "dataset 'synthetic:channels=1,classes=10,n=64,seed=0,size=28' there, "
                        "'synthetic:channels=1,classes=10,n=80,seed=0,size=28' here"),
    # more
    "random bytes": (_write("runs/c.state.pt", np.random.default_rng(0).bytes(5000)), CLF, "c", "is damaged"),
    "a JSON file": (_write("runs/c.state.pt", b'{"model": {}}'), CLF, "c", "is damaged"),
    "a pickle with code": (_evil_state, CLF, "c", "is damaged"),
    "a tensor, not a dict": (lambda d: torch.save(torch.zeros(2), _state(d)), CLF, "c",
                             "is not an RA Explorer training state"),
    "epoch of the wrong type": (_rewrite_state(lambda s: s.update(epoch="one")), CLF, "c", "wrong type"),
    "history of the wrong type": (_rewrite_state(lambda s: s.update(history=5)), CLF, "c", "wrong type"),
    "weights of another architecture": (_other_arch_state, CLF, "c", "does not fit this model"),
    "optimizer state damaged": (_rewrite_state(lambda s: s.update(optimizer={"state": {}})), CLF, "c",
                                "optimizer state"),
    "identity damaged": (_rewrite_state(lambda s: s.update(identity="{not json")), CLF, "c",
                         "damaged identity"),
    "more epochs than asked": (_rewrite_state(lambda s: s.update(epoch=5)), CLF, "c",
                               "already trained 5 epochs"),
    "other architecture options": (None, _swap(CLF, "width=4", "width=8"), "c",
                                   '"width": 4} there'),
    "other method (adversarial)": (None, CLF + ["--adv-eps", "0.5", "--adv-steps", "1"], "c",
                                   "method 'standard' there, 'adversarial' here"),
    "another name's state": (lambda d: shutil.copy(d / "runs" / "c2.state.pt", _state(d)), CLF, "c",
                             "name 'c2' there, 'c' here"),
    "another recognizer": (None, PRO, "p:c2", "recognizer state digest"),
    "another task": (None, _swap(PRO, "sr", "sr:scale=2"), "p", "task 'sr:scale=4' there, 'sr:scale=2' here"),
    "another processor method": (None, _swap(PRO, "ra", "ra-unsup"), "p",
                                 "method 'ra' there, 'ra-unsup' here"),
    "plain instead of ra": (None, _swap(PRO, "ra", "plain"), "p", "method 'ra' there, 'plain' here"),
    "processor options": (None, _swap(PRO, "channels=4", "channels=8"), "p", '"channels": 4'),
}


@pytest.mark.parametrize("case", list(RESUME_CASES))
def test_bad_resume_is_one_sentence(case, trained, tmp_path, capsys):
    d = tmp_path / "t"
    shutil.copytree(trained, d)
    damage, argv, who, match = RESUME_CASES[case]
    if damage:
        damage(d)
    name, _, recognizer = who.partition(":")
    extra = ["--recognizer", d / "zoo" / (recognizer or "c")] if name == "p" else []
    before = snapshot(d, ROOT / "results")
    code, err = run_main(list(argv) + _paths(d, name) + extra + ["--resume"], capsys)
    assert_one_sentence(code, err, match)
    assert str(d / "runs" / f"{name}.state.pt") in err
    if "is damaged" in match or "not an RA Explorer" in match or "does not fit" in match:
        assert RESUME in err            # the sentence gives the choice to start again
    assert snapshot(d, ROOT / "results") == before
    assert not (d / "pwned").exists()


def test_resume_after_an_interrupted_save_finishes_it(trained, tmp_path, capsys):
    """Ctrl-C between the weights and the card: loading says so; --resume writes the same weights."""
    d = tmp_path / "t"
    shutil.copytree(trained, d)
    argv = [str(a) for a in CLF + _paths(d, "c")]
    with mock.patch("analysis.zoo.checkpoints._write_card", side_effect=KeyboardInterrupt):
        code, err = run_main(argv + ["--resume"], capsys)    # trains the second epoch, then ^C
    assert code == 130 and "Traceback" not in err     # above it: the resume and epoch lines
    assert err.strip().splitlines()[-1] == "error: interrupted."
    weights = tensor_bytes(d / "zoo" / "c.safetensors")
    code, err = run_main(["robustness", "--checkpoints", d / "zoo", "--classifier", "c", "--eps", "0.1"],
                         capsys)
    assert_one_sentence(code, err, "training was interrupted while c was being saved")
    assert main(argv + ["--resume"]) == 0
    assert tensor_bytes(d / "zoo" / "c.safetensors") == weights     # bitwise the interrupted run's
    assert not (d / "zoo" / "c.saving").exists()
    assert load_card(d / "zoo" / "c")["epochs"] == 2


FLOAT16_CASES = {
    "truncated state": (_truncate("runs/c.state.pt"), "is damaged"),
    "empty state": (_write("runs/c.state.pt", b""), "float32 reference of 'c'"),
    "state of another dataset": (_identity(dataset="fashion-mnist"), "dataset 'fashion-mnist' there"),
    "state of another architecture": (_identity(arch="vgg11-bn"), "architecture 'vgg11-bn' there"),
    "state of another method": (_identity(method="adversarial"), "method 'adversarial' there"),
    "state of another run's name": (lambda d: shutil.copy(d / "runs" / "c2.state.pt", _state(d)),
                                    "name 'c2' there"),
    "weights of another architecture": (_other_arch_state, "does not fit this model"),
}


@pytest.mark.parametrize("case", list(FLOAT16_CASES))
def test_float16_check_refuses_a_bad_state(case, trained, tmp_path, capsys):
    d = tmp_path / "t"
    shutil.copytree(trained, d)
    damage, match = FLOAT16_CASES[case]
    damage(d)
    before = snapshot(d, ROOT / "results")
    code, err = run_main(["float16-check", "--checkpoints", d / "zoo", "--state-dir", d / "runs",
                          "--models", "c", "--dataset", SYN, "--no-progress", "--no-save"], capsys)
    assert_one_sentence(code, err, match)
    assert snapshot(d, ROOT / "results") == before


def test_the_case_counts():
    """The numbers quoted in the closing note of issue 17."""
    counts = {"cli": len(CLI_CASES) + len(SUBPROCESS_CASES), "checkpoints": len(CHECKPOINT_CASES),
              "uploads": len(UPLOAD_CASES), "resume": len(RESUME_CASES) + len(FLOAT16_CASES),
              "metrics": 3 * len(METRIC_CASES)}
    assert counts["cli"] >= 50 and counts["checkpoints"] >= 41 and counts["uploads"] >= 20
    assert counts["resume"] >= 10
