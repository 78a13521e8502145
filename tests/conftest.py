"""Shared fixtures: tiny models trained for a few steps on the synthetic dataset."""

from __future__ import annotations

import pytest
import torch

SYNTH = "synthetic:n=200"
TINY_CLASSIFIER = {"width": 4}
TINY_PROCESSOR = {"channels": 8, "blocks": 1}
TINY_TRANSFORMER = {"ngf": 4, "blocks": 1}


def worker_threads() -> int:
    """Torch threads per test process: $RA_TEST_THREADS, else the cores shared among the
    pytest-xdist workers (at least 1), else 2."""
    import os

    if os.environ.get("RA_TEST_THREADS"):
        return int(os.environ["RA_TEST_THREADS"])
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    return max(1, (os.cpu_count() or 2) // workers) if workers else 2



@pytest.fixture(autouse=True)
def _few_threads():
    # RA_TEST_THREADS=1 keeps a test run from oversubscribing cores that training jobs use
    torch.set_num_threads(worker_threads())


@pytest.fixture(autouse=True, scope="session")
def _subprocess_threads():
    """The processes tests start (the CLI, documentation blocks, the app server) get this
    worker's share of the cores too: two workers whose children each spin two OpenMP threads
    on two cores made every such test two to seven times slower than alone."""
    import os

    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
    old = {name: os.environ.get(name) for name in names}
    os.environ.update({name: str(worker_threads()) for name in names})
    yield
    for name, value in old.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True, scope="session")
def _retain_freed_memory():
    """As the CLI and the app do (analysis.device.retain_freed_memory)."""
    from analysis.device import retain_freed_memory

    retain_freed_memory()


@pytest.fixture(autouse=True, scope="session")
def _eager_execution():
    """The suite runs classifier forwards eagerly (no per-model calibration of the execution
    plan in every small run); tests of the plans pass their policy explicitly."""
    import os

    old = os.environ.get("RA_EXECUTION")
    os.environ.setdefault("RA_EXECUTION", "eager")
    yield
    if old is None:
        os.environ.pop("RA_EXECUTION", None)


@pytest.fixture(autouse=True, scope="session")
def _no_background_prefetch():
    """No Boundaries prefetch in the in-process page tests (a background job would change
    their counts while they run); the test of the prefetch turns it on, and the browser tests'
    app runs as README says (``start_app`` drops the variable)."""
    import os

    old = os.environ.get("RA_PREFETCH")
    os.environ["RA_PREFETCH"] = "0"
    yield
    if old is None:
        os.environ.pop("RA_PREFETCH", None)
    else:
        os.environ["RA_PREFETCH"] = old


@pytest.fixture(autouse=True, scope="session")
def _runs_in_tmp(tmp_path_factory):
    """Non-protocol runs write to $RA_RUNS/<verb>/<time stamp>/: a temporary folder, not the
    project's runs/ (tests that spawn the CLI inherit it)."""
    import os

    old = os.environ.get("RA_RUNS")
    os.environ["RA_RUNS"] = str(tmp_path_factory.mktemp("runs"))
    yield
    if old is None:
        os.environ.pop("RA_RUNS", None)
    else:
        os.environ["RA_RUNS"] = old


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory):
    """A checkpoint folder with two tiny classifiers (one adversarial) and one SR processor."""
    from analysis.training.classifiers import train_classifier
    from analysis.training.processors import train_processor

    folder = tmp_path_factory.mktemp("zoo")
    state = tmp_path_factory.mktemp("state")
    common = {"dataset": SYNTH, "epochs": 1, "batch_size": 32, "val_limit": 40,
              "state_dir": str(state), "progress": False}
    train_classifier("resnet20", out=str(folder / "clf-a"), arch_kwargs=TINY_CLASSIFIER,
                     max_steps=8, **common)
    train_classifier("vgg11-bn", out=str(folder / "clf-b"), arch_kwargs={"width_mult": 0.125},
                     max_steps=8, **common)
    train_classifier("resnet20", out=str(folder / "clf-robust"), arch_kwargs=TINY_CLASSIFIER,
                     adv_eps=0.5, adv_steps=2, max_steps=4, **common)
    train_processor("sr", "plain", out=str(folder / "sr-plain"), arch_kwargs=TINY_PROCESSOR,
                    max_steps=4, **common)
    train_processor("sr", "ra", out=str(folder / "sr-ra"), recognizer=str(folder / "clf-a"),
                    lam=0.1, arch_kwargs=TINY_PROCESSOR, max_steps=4, **common)
    return folder
