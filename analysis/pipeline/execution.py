"""The execution plan: how a classifier's forward passes run on this device, measured once.

The runner's sinks (the record table) and the app's screening ask a :class:`Predictor` for the
top-1 class and its softmax probability of a batch, ``classify(x) -> (classes, probs)``. On
its first batch the predictor *calibrates*: it runs the reference (float32 eager, the way every
table was made) on the whole batch, which is that batch's answer, then tries each candidate
backend of :mod:`analysis.pipeline.backends` on the first :data:`CALIBRATION_ROWS` images,
and the per-model batch size (eager, and the fastest backend, in chunks of :data:`CHUNKS`
images on the CPU), and keeps the fastest option that is exact (seconds per image of the
whole guarded top-1, recomputations included; eager unless an option is
:data:`MIN_GAIN` times faster). The plan is cached in memory per (model weights, device, threads, input
shape, policy), so every later predictor of the same model in this process (another task of
``results``, the app's workspace) reuses it without measuring again.

**Exact means the same numbers as eager.** A float32 backend (channels-last, folded
BatchNorm, torch.compile, ONNX Runtime) computes the same function with other roundings: its
logits differ from eager's by about 1e-5 at most (measured in calibration as ``max_diff``).
That can flip the argmax of a near-tie and the last bit of the float16 probability the record
table stores. The plan therefore *guards* such a backend: with the bound
``eps = SAFETY * max_diff + FLOOR * max|logit|`` (logit units), a row whose top-1 class and
float16 probability are the same for every logit vector within ``eps`` of the fast one is
settled (:func:`settled`); the other rows (typically a few per cent) are recomputed by the
reference, on a sub-batch of at least ``pad`` rows (calibration checks that the reference
gives bit-identical logits on a sub-batch of that size). So the record table, and every
accuracy table made from it, is the same with the plan on and off. A backend whose logits
are bit-identical on the calibration batch (eager with another chunk size) needs no guard.
Reduced precision (``autocast``) is not guarded: it is judged by :data:`TOLERANCE` (at most
0.1 % of the calibration predictions may change, so no accuracy moves by more than 0.1
point on them) and is off unless asked for.

**Policy** (``RA_EXECUTION`` or ``--execution``; default ``auto``): comma-separated tokens.
``auto`` tries every backend whose registry row says ``default``; ``eager`` (or ``off``)
turns the plan off (the reference only, as before); ``-NAME`` removes a backend, ``+NAME``
adds one (``auto,+compile,+autocast``); bare names without ``auto`` try exactly those
(``fold-bn-cl,onnxruntime``); ``-batch`` keeps each model at the runner's batch size;
``-exact-probs`` guards the top-1 class only (the stored float16 probabilities may then
differ from eager's in the last bit, the accuracy tables cannot); ``force`` uses the fastest
exact listed backend even where eager measures faster (for tests and benchmarks).
A backend that cannot run here (no compiler, no onnxruntime) is skipped with a sentence in the
plan's notes, printed once on stderr when the policy named it explicitly.

Example::

    predictor = Predictor(model)          # policy from $RA_EXECUTION
    classes, probs = predictor.classify(x)  # x (N, C, H, W) in [0, 1] on the model's device
    print(predictor.plan.summary())
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import RAExplorerError, close_names_hint
from .backends import BACKENDS, Run

ENV = "RA_EXECUTION"
AUDIT_ENV = "RA_EXECUTION_AUDIT"      # every N-th batch also runs the reference and compares
SAFETY = 8.0                          # eps = SAFETY x the largest |logit difference| measured
FLOOR = 2.0 ** -20                    # ... plus this x max(1, max |logit|)
TOLERANCE = 0.001                     # reduced precision: share of predictions allowed to change
CALIBRATION_ROWS = 256                # images each candidate is timed on
CHUNKS = (64, 128)                    # per-model batch sizes tried for the fastest backend
PADS = (16, 32, 64, 128, 256)         # sub-batch sizes tried for the guard's recomputation
REPEATS = 2                           # timed runs per candidate (the minimum is kept)
MIN_GAIN = 1.05                       # leave eager only for at least this speed-up
BATCH_TOKEN = "batch"
PROBS_TOKEN = "exact-probs"
FORCE_TOKEN = "force"


# ----------------------------------------------------------------------------- the policy

@dataclass(frozen=True)
class Policy:
    """Which backends calibration may choose (besides eager, always the fallback) and whether
    it tunes the per-model batch size. ``spec`` is the text it was read from."""

    spec: str
    backends: tuple[str, ...]
    tune_batch: bool = True
    exact_probs: bool = True           # the guard also keeps each float16 probability
    force: bool = False                # use the fastest exact listed backend even if eager wins
    explicit: tuple[str, ...] = ()     # named by the user: their notes are printed

    @property
    def off(self) -> bool:
        return not self.backends and not self.tune_batch


def parse_policy(spec: str | None) -> Policy:
    """Read a policy (see the module docstring); an unknown name is one sentence."""
    text = (spec or "auto").strip() or "auto"
    tokens = [t.strip().lower() for t in text.split(",") if t.strip()]
    if tokens in (["eager"], ["off"]):
        return Policy(text, (), False)
    chosen: list[str] = []
    tune = probs = True
    force = False
    explicit: list[str] = []
    names = [n for n in BACKENDS if n != "eager"]

    def check(name: str) -> str:
        if name in (BATCH_TOKEN, PROBS_TOKEN, FORCE_TOKEN) or name in names:
            return name
        raise RAExplorerError(
            f"Unknown execution option {name!r} in {text!r}; use auto, eager, backend names "
            f"({', '.join(names)}), {BATCH_TOKEN}, {PROBS_TOKEN} or {FORCE_TOKEN}, each with + or "
            "- in front to add or remove it."
            f"{close_names_hint(name, [*names, BATCH_TOKEN, PROBS_TOKEN, FORCE_TOKEN, 'auto'])}")

    for token in tokens:
        if token == "auto":
            chosen += [n for n in names if BACKENDS[n].default and n not in chosen]
        elif token == "eager":
            continue
        elif token[0] in "+-":
            name = check(token[1:])
            if name == BATCH_TOKEN:
                tune = token[0] == "+"
            elif name == PROBS_TOKEN:
                probs = token[0] == "+"
            elif name == FORCE_TOKEN:
                force = token[0] == "+"
            elif token[0] == "+":
                chosen += [name] if name not in chosen else []
                explicit.append(name)
            else:
                chosen = [n for n in chosen if n != name]
        else:
            name = check(token)
            if name == BATCH_TOKEN:
                tune = True
            elif name == PROBS_TOKEN:
                probs = True
            elif name == FORCE_TOKEN:
                force = True
            elif name not in chosen:
                chosen.append(name)
                explicit.append(name)
    ordered = tuple(n for n in names if n in chosen)
    return Policy(text, ordered, tune, probs, force, tuple(explicit))


def current_policy(spec: str | Policy | None = None) -> Policy:
    """``spec`` as a :class:`Policy`; None reads ``$RA_EXECUTION`` (default ``auto``)."""
    if isinstance(spec, Policy):
        return spec
    return parse_policy(spec if spec is not None else os.environ.get(ENV))


def execution_spec(text: str) -> str:
    """argparse type of ``--execution``: the text, once it parses."""
    parse_policy(text)
    return text


# ----------------------------------------------------------------------------- top-1 and guard

def top1(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(top-1 classes (N,) int64, their softmax probabilities (N,) float32) of (N, K) logits,
    computed as the record table always has: argmax of the logits, softmax, gather."""
    cls = logits.argmax(1)
    return cls, logits.softmax(1).gather(1, cls[:, None])[:, 0]


def settled(logits: torch.Tensor, eps: float, probs: bool = True) -> torch.Tensor:
    """(N,) bool: rows whose top-1 class and float16 top-1 probability are the same for every
    logit vector within ``eps`` (max norm, logit units) of ``logits``.

    Class: the margin between the two largest logits exceeds 2 eps. Probability: with
    S = sum over j != c of exp(l_j - l_c), the true probability 1 / (1 + S') has
    S' in [S exp(-2 eps), S exp(2 eps)]; widened by float32 softmax rounding
    ((K + 4) 2^-24), both ends of that interval round to the same float16 (rounding is
    monotone, so everything between does too). ``probs`` False checks the class only.
    """
    n, k = logits.shape
    if k == 1:
        return torch.ones(n, dtype=torch.bool, device=logits.device)
    wide = logits.double()
    cls = wide.argmax(1, keepdim=True)
    others = (wide - wide.gather(1, cls)).scatter(1, cls, -math.inf)
    margin = -others.max(1).values
    if not probs:
        return margin > 2 * eps
    s = others.exp().sum(1)
    slack = (k + 4) * 2.0 ** -24
    low = 1 / (1 + s * math.exp(2 * eps)) - slack
    high = 1 / (1 + s * math.exp(-2 * eps)) + slack
    same_half = low.float().half() == high.float().half()
    return (margin > 2 * eps) & same_half


def chunked(run: Run, x: torch.Tensor, chunk: int | None, static: bool = False) -> torch.Tensor:
    """``run`` over ``x`` in chunks of ``chunk`` rows (None: at once); ``static`` pads the last
    chunk to full size with zeros (for backends compiled for one shape)."""
    if chunk is None or (len(x) <= chunk and not static):
        return run(x)
    outs = []
    for start in range(0, len(x), chunk):
        part = x[start:start + chunk]
        if static and len(part) < chunk:
            filler = part.new_zeros((chunk - len(part), *part.shape[1:]))
            outs.append(run(torch.cat([part, filler]))[:len(part)])
        else:
            outs.append(run(part))
    return torch.cat(outs)


# ----------------------------------------------------------------------------- the plan

@dataclass
class Trial:
    """One measured option: seconds per image of the guarded top-1 on the calibration rows,
    the largest |logit difference| to eager and the guard bound made from it (logit units),
    argmax flips without the guard, and the share of rows the guard settles."""

    backend: str
    chunk: int | None
    seconds_per_image: float
    max_diff: float
    eps: float
    flips: int
    settled: float
    exact: str                         # "reference", "bitwise", "guarded", "tolerance"


@dataclass
class Plan:
    """What calibration chose for one model on one device, and what it measured."""

    backend: str = "eager"
    chunk: int | None = None           # rows per forward; None: the runner's batch
    eps: float = 0.0                   # guard bound in logit units; 0: no guard
    exact: str = "reference"
    pad: int | None = None             # smallest sub-batch the reference reproduces; None: all
    static: bool = False
    probs: bool = True                 # the guard keeps float16 probabilities too
    ref_chunk: int | None = None       # eager's fastest bit-identical batch size (the guard's)
    device: str = "cpu"
    threads: int = 1
    rows: int = 0                      # calibration images
    trials: list[Trial] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0               # wall time calibration took
    speedup_measured: float = 1.0      # for a plan read from disk (no trials kept)

    @property
    def speedup(self) -> float:
        """Eager seconds per image / the chosen option's, on the calibration rows."""
        eager = next((t for t in self.trials if t.backend == "eager" and t.chunk is None), None)
        mine = next((t for t in self.trials if (t.backend, t.chunk) == (self.backend, self.chunk)),
                    None)
        if eager is None or mine is None or mine.seconds_per_image <= 0:
            return self.speedup_measured
        return eager.seconds_per_image / mine.seconds_per_image

    def summary(self) -> str:
        """One line: the choice, its speed-up and its exactness."""
        chunk = f", chunks of {self.chunk}" if self.chunk else ""
        guard = (f", guarded (eps {self.eps:.1e})" if self.exact == "guarded"
                 else f", {self.exact}")
        return (f"{self.backend}{chunk} on {self.device} ({self.threads} threads): "
                f"{self.speedup:.2f}x eager{guard}")

    def as_dict(self) -> dict:
        """JSON-ready: choice, bound, speed-up, notes (for provenance)."""
        return {"backend": self.backend, "chunk": self.chunk, "exact": self.exact,
                "eps": self.eps, "speedup": round(self.speedup, 3), "device": self.device,
                "threads": self.threads, "notes": list(self.notes)}


_PLANS: dict[tuple, tuple[Plan, Run]] = {}
_PRINTED: set[str] = set()


def clear_plans() -> None:
    """Forget every cached plan (the next predictor calibrates again)."""
    _PLANS.clear()


def _note(plan: Plan, text: str, show: bool) -> None:
    plan.notes.append(text)
    if show and text not in _PRINTED:
        _PRINTED.add(text)
        print(f"execution: {text}", file=sys.stderr)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device, repeats: int = REPEATS) -> float:
    best = math.inf
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def plan_key(model: nn.Module, x: torch.Tensor, policy: Policy) -> tuple:
    """What a plan depends on: the model's class and weights, the device, torch's threads, the
    input's shape and type, and the policy."""
    from ..zoo.checkpoints import state_digest

    return (type(model).__qualname__, state_digest(model), str(x.device), torch.get_num_threads(),
            tuple(x.shape[1:]), str(x.dtype), policy.backends, policy.tune_batch,
            policy.exact_probs, policy.force)


class Predictor:
    """Top-1 class and probability of one classifier under the device's execution plan.

    ``model``: an eval-mode classifier on its device, called with (N, C, H, W) images in
    [0, 1]; ``policy``: a :class:`Policy`, its text, or None for ``$RA_EXECUTION``;
    ``disk``: also keep the plan in ``runs/execution/plans.json`` (a later process on this
    machine builds the chosen backend without timing the others). The model itself is never
    changed (backends work on copies), so its other uses (features, gradients) are unaffected.
    """

    def __init__(self, model: nn.Module, policy: str | Policy | None = None,
                 audit_every: int | None = None, disk: bool = True):
        self.model = model
        self.policy = current_policy(policy)
        self.audit_every = (int(os.environ.get(AUDIT_ENV, "0") or 0) if audit_every is None
                            else audit_every)
        self.disk = disk
        self.plan: Plan | None = None
        self._run: Run | None = None
        self.batches = self.images = self.rechecked = 0

    # -------------------------------------------------------------- public
    @torch.inference_mode()
    def classify(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(classes (N,) int64, probabilities (N,) float32), equal to :func:`top1` of the
        model's float32 eager logits (within :data:`TOLERANCE` for an opted-in reduced
        precision; the probability's float16 rounding unless ``-exact-probs``)."""
        self.batches += 1
        self.images += len(x)
        if self.plan is None:
            if self.policy.off:
                self.plan = Plan(device=str(x.device), threads=torch.get_num_threads())
                self._run = self.model
                return top1(self.model(x))
            key = plan_key(self.model, x, self.policy)
            if key in _PLANS:
                self.plan, self._run = _PLANS[key]
            else:
                result = self._from_disk(x, key) if self.disk else None
                if result is None:
                    result = self._calibrate(x)
                    if self.disk:
                        _store(key, self.plan)
                _PLANS[key] = (self.plan, self._run)
                self.rechecked = 0            # calibration's own guard runs do not count
                return result
        if self.audit_every and self.batches % self.audit_every == 0:
            return self._audited(x)
        return self._guarded(x)

    def summary(self) -> str:
        """The plan's line, with the share of rows the guard sent back to eager so far."""
        if self.plan is None:
            return "not calibrated yet"
        share = f"; re-ran {self.rechecked / max(1, self.images):.1%} of rows" if (
            self.plan.exact == "guarded") else ""
        return self.plan.summary() + share

    # -------------------------------------------------------------- the guarded top-1
    def _guarded(self, x: torch.Tensor, run: Run | None = None, plan: Plan | None = None):
        plan = plan or self.plan
        if plan.backend == "eager":
            return top1(self._eager(x, plan.chunk, plan.pad))
        logits = chunked(run or self._run, x, plan.chunk, plan.static)
        cls, prob = top1(logits)
        if plan.exact != "guarded":
            return cls, prob
        unsure = ~settled(logits, plan.eps, plan.probs)
        if bool(unsure.any()):
            rows = torch.nonzero(unsure).flatten()
            self.rechecked += len(rows)
            ref_cls, ref_prob = self._reference_rows(x, rows, plan)
            cls, prob = cls.clone(), prob.clone()
            cls[rows], prob[rows] = ref_cls, ref_prob
        return cls, prob

    def _eager(self, x: torch.Tensor, chunk: int | None, pad: int | None) -> torch.Tensor:
        """Eager logits of ``x`` in chunks of ``chunk`` rows (None: at once), the last chunk
        merged into the one before when it would have fewer than ``pad`` rows (calibration
        found the reference bit-identical on sub-batches of ``pad`` rows, not below)."""
        if chunk is None or len(x) <= chunk:
            return self.model(x)
        bounds = [*range(0, len(x), chunk), len(x)]
        if pad and len(bounds) > 2 and bounds[-1] - bounds[-2] < pad:
            del bounds[-2]
        return torch.cat([self.model(x[a:b]) for a, b in zip(bounds, bounds[1:])])

    def _reference_rows(self, x: torch.Tensor, rows: torch.Tensor, plan: Plan):
        """Eager top-1 of ``x[rows]`` on a sub-batch of at least ``plan.pad`` rows (the rows,
        then the batch's first others), or of the whole batch when ``pad`` is None."""
        pad = plan.pad
        if pad is None or len(rows) >= len(x) or pad >= len(x):
            cls, prob = top1(self._eager(x, plan.ref_chunk, pad))
            return cls[rows], prob[rows]
        take = rows
        if len(rows) < pad:
            rest = torch.ones(len(x), dtype=torch.bool, device=rows.device)
            rest[rows] = False
            take = torch.cat([rows, torch.nonzero(rest).flatten()[:pad - len(rows)]])
        cls, prob = top1(self._eager(x[take], plan.ref_chunk, pad))
        return cls[:len(rows)], prob[:len(rows)]

    def _audited(self, x: torch.Tensor):
        ref = top1(self.model(x))
        got = self._guarded(x)
        same = torch.equal(ref[0], got[0]) and (not self.plan.probs or self.plan.exact != "guarded"
                                                or torch.equal(ref[1].half(), got[1].half()))
        if not same and self.plan.exact != "tolerance":
            _note(self.plan, f"the audit of batch {self.batches} found a difference to eager; "
                  "this model runs eager from here on", True)
            self.plan = Plan(device=self.plan.device, threads=self.plan.threads,
                             notes=self.plan.notes)
            self._run = self.model
        return ref

    # -------------------------------------------------------------- calibration
    def _reproduces(self, got, answer, n: int, probs: bool) -> bool:
        return torch.equal(got[0], answer[0][:n]) and (
            not probs or torch.equal(got[1].half(), answer[1][:n].half()))

    def _from_disk(self, x: torch.Tensor, key: tuple):
        """Build the plan stored for ``key`` and check it on this batch (the reference's
        answer is returned); None when there is none or it does not hold here."""
        stored = _load(key)
        if stored is None or stored.backend not in BACKENDS:
            return None
        backend = BACKENDS[stored.backend]
        if backend.unavailable(x.device):
            return None
        ref = self.model(x)
        answer = top1(ref)
        try:
            run = backend.build(self.model, x[:CALIBRATION_ROWS])
            out = chunked(run, x, stored.chunk, stored.static)
        except Exception:
            return None
        if stored.exact == "guarded":
            diff = float((out.float() - ref).abs().max())
            stored.eps = max(stored.eps, SAFETY * diff + FLOOR * max(1.0, float(ref.abs().max())))
        elif stored.exact in ("reference", "bitwise") and not torch.equal(out, ref):
            return None
        if stored.exact != "tolerance" and not self._reproduces(
                self._guarded(x, run, stored), answer, len(x), stored.probs):
            return None
        stored.notes.append("plan read from the disk cache (not re-timed)")
        self.plan, self._run = stored, run
        return answer

    def _calibrate(self, x: torch.Tensor):
        started = time.perf_counter()
        model, device, policy = self.model, x.device, self.policy
        plan = Plan(device=str(device), threads=torch.get_num_threads(), probs=policy.exact_probs)
        ref = model(x)
        answer = top1(ref)
        cal = x[:CALIBRATION_ROWS]
        ref_cal = ref[:len(cal)]
        floor = FLOOR * max(1.0, float(ref_cal.abs().max()))
        plan.rows = len(cal)
        plan.pad = next((p for p in PADS if p < len(x) and torch.equal(model(x[:p]), ref[:p])),
                        None)
        trials: dict[tuple[str, int | None], tuple[Trial, Run, bool]] = {}
        eager_time = _timed(lambda: model(cal), device) / len(cal)
        trials[("eager", None)] = (Trial("eager", None, eager_time, 0.0, 0.0, 0, 1.0, "reference"),
                                   model, False)

        def trial(name: str, run: Run, chunk: int | None, static: bool) -> None:
            backend = BACKENDS[name]
            out = chunked(run, cal, chunk, static).float()
            diff = float((out - ref_cal).abs().max())
            flips = int((out.argmax(1) != ref_cal.argmax(1)).sum())
            if backend.precision == "reduced":
                if flips > TOLERANCE * len(cal):
                    _note(plan, f"{name} changed {flips} of {len(cal)} calibration predictions "
                          f"(more than {TOLERANCE:.1%}); not used", name in policy.explicit)
                    return
                exact, eps = "tolerance", 0.0
            elif diff == 0.0:
                exact, eps = "bitwise", 0.0
            elif name == "eager":
                return   # eager at another batch size is only used when bit-identical
            else:
                exact, eps = "guarded", SAFETY * diff + floor
            candidate = Plan(backend=name, chunk=chunk, eps=eps, exact=exact, pad=plan.pad,
                             static=static, probs=plan.probs, ref_chunk=plan.ref_chunk)
            results = []

            def once():
                results.append(self._guarded(cal, run, candidate))
            seconds = _timed(once, device) / len(cal)
            if exact != "tolerance" and not self._reproduces(results[0], answer, len(cal),
                                                             plan.probs):
                _note(plan, f"{name} did not reproduce eager on the calibration images; not used",
                      name in policy.explicit)
                return
            share = float(settled(out, eps, plan.probs).float().mean()) if exact == "guarded" \
                else 1.0
            trials[(name, chunk)] = (Trial(name, chunk, seconds, diff, eps, flips, share, exact),
                                     run, static)

        if policy.tune_batch and device.type == "cpu":   # eager per-model batch sizes first:
            for chunk in CHUNKS:                          # the guard's recomputation uses them
                if chunk < len(cal):
                    trial("eager", model, chunk, False)
            fastest = min((t for t in trials.values() if t[0].backend == "eager"),
                          key=lambda t: t[0].seconds_per_image)[0]
            plan.ref_chunk = fastest.chunk
        for name in policy.backends:
            backend = BACKENDS[name]
            why = backend.unavailable(device)
            if why:
                _note(plan, why, name in policy.explicit)
                continue
            try:
                run = backend.build(model, cal)
                chunk = len(cal) if backend.static_shapes else None
                if backend.static_shapes:
                    chunked(run, cal, chunk, True)        # warm-up: compiles
                trial(name, run, chunk, backend.static_shapes)
            except Exception as exc:  # a backend that fails to build or run is skipped
                first = " ".join(str(exc).split())[:160]
                _note(plan, f"{name} failed here ({type(exc).__name__}: {first}); skipped",
                      name in policy.explicit)
        best = min(trials.values(), key=lambda t: t[0].seconds_per_image)
        if policy.tune_batch and device.type == "cpu" and best[0].backend != "eager" \
                and not best[2]:
            for chunk in CHUNKS:
                if chunk < len(cal):
                    trial(best[0].backend, best[1], chunk, False)
        others = [t for t in trials.values() if t[0].backend != "eager"]
        chosen = min(trials.values(), key=lambda t: t[0].seconds_per_image)
        if policy.force and others:
            chosen = min(others, key=lambda t: t[0].seconds_per_image)
        elif chosen[0].seconds_per_image * MIN_GAIN > eager_time:
            chosen = trials[("eager", None)]
        best_trial, run, static = chosen
        plan.backend, plan.chunk, plan.exact, plan.static, plan.eps = (
            best_trial.backend, best_trial.chunk, best_trial.exact, static, best_trial.eps)
        plan.trials = [t for t, _, _ in trials.values()]
        plan.seconds = time.perf_counter() - started
        self.plan, self._run = plan, run
        return answer


# ----------------------------------------------------------------------------- the disk cache

def _machine() -> str:
    import platform

    if torch.cuda.is_available():
        names = {torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())}
    else:
        names = set()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")),
                       cpu)
    except OSError:
        pass
    return " | ".join([cpu, *sorted(names)])


def _cache_file():
    from ..config import runs_dir

    return runs_dir() / "execution" / "plans.json"


def _key_text(key: tuple) -> str:
    import importlib.metadata as md
    import json

    try:
        ort = md.version("onnxruntime")
    except md.PackageNotFoundError:
        ort = None
    return json.dumps([_machine(), torch.__version__, ort, *[list(k) if isinstance(k, tuple)
                                                             else k for k in key]])


def _load(key: tuple) -> Plan | None:
    import json

    try:
        stored = json.loads(_cache_file().read_text()).get(_key_text(key))
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(stored, dict):
        return None
    try:
        return Plan(backend=stored["backend"], chunk=stored["chunk"], eps=float(stored["eps"]),
                    exact=stored["exact"], pad=stored["pad"], static=bool(stored["static"]),
                    device=stored["device"], threads=int(stored["threads"]),
                    probs=bool(stored["probs"]), ref_chunk=stored["ref_chunk"],
                    speedup_measured=float(stored.get("speedup", 1.0)))
    except (KeyError, TypeError, ValueError):
        return None


def _store(key: tuple, plan: Plan) -> None:
    """Add ``plan`` to the disk cache (atomically; a folder that cannot be written is skipped)."""
    import json

    path = _cache_file()
    try:
        known = json.loads(path.read_text()) if path.exists() else {}
        if not isinstance(known, dict):
            known = {}
        known[_key_text(key)] = {"backend": plan.backend, "chunk": plan.chunk, "eps": plan.eps,
                                 "exact": plan.exact, "pad": plan.pad, "static": plan.static,
                                 "device": plan.device, "threads": plan.threads,
                                 "probs": plan.probs, "ref_chunk": plan.ref_chunk,
                                 "speedup": plan.speedup}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1) + "\n")
        os.replace(tmp, path)
    except (OSError, ValueError):
        pass


def predictors(models: dict[str, nn.Module], policy: str | Policy | None = None
               ) -> dict[str, Predictor]:
    """{name: Predictor} for each model, under one policy."""
    chosen = current_policy(policy)
    return {name: Predictor(model, chosen) for name, model in models.items()}
