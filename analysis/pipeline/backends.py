"""Ways to run a classifier's forward pass: the registry the execution plan chooses from.

Each :class:`Backend` turns an eval-mode model into a function ``run(x) -> logits`` on
(N, C, H, W) float32 images in [0, 1] (on the model's device), returning (N, K) float32
logits. ``eager`` is the reference (the model itself in float32, as every table was made);
the others compute the same function in another way:

* ``channels-last``: the model and its input in ``torch.channels_last`` memory format (other
  oneDNN / cuDNN kernels; logits differ from eager by float rounding);
* ``fold-bn`` / ``fold-bn-cl``: every ``Conv2d`` directly followed by a ``BatchNorm2d`` in
  an ``nn.Sequential`` folded into one convolution (eval-mode statistics; rounding), the
  second also channels-last;
* ``compile``: ``torch.compile`` of the folded channels-last model (needs a C/C++ compiler on
  the CPU, Triton on CUDA; static shapes: the last, smaller chunk is padded);
* ``onnxruntime``: the model exported to ONNX in memory and run by ONNX Runtime's CPU
  provider (optional: needs the PyPI packages ``onnxruntime`` and ``onnx``);
* ``autocast``: channels-last under ``torch.autocast`` (bfloat16 on the CPU, float16 on CUDA):
  reduced precision, whose predictions may differ from eager.

``precision`` says how a backend's results relate to eager: ``"reference"`` (it is eager),
``"float32"`` (the same arithmetic up to rounding; the plan guards its predictions, see
:mod:`analysis.pipeline.execution`) or ``"reduced"`` (judged by a stated tolerance).
``default`` says whether ``RA_EXECUTION=auto`` tries it. Adding a backend is adding a row.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import shutil
import threading
import warnings
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

Run = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Backend:
    """One way of running a forward pass (see the module docstring)."""

    name: str
    description: str
    precision: str                                   # "reference", "float32" or "reduced"
    default: bool                                    # tried by RA_EXECUTION=auto
    build: Callable[[nn.Module, torch.Tensor], Run]  # (model, example input) -> run
    unavailable: Callable[[torch.device], str | None] = lambda device: None
    static_shapes: bool = False                      # pad the last chunk to the chunk size


# ----------------------------------------------------------------------------- model transforms

def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with each ``Conv2d`` -> ``BatchNorm2d`` pair of an
    ``nn.Sequential`` folded into one ``Conv2d`` (the BatchNorm replaced by ``Identity``).

    Only direct neighbours inside a Sequential are folded, so the module tree, its names (the
    feature taps) and its forward code stay as they are; a BatchNorm that follows anything
    else (a concatenation, an activation) is kept.
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    with torch.inference_mode(False), torch.no_grad():
        folded = copy.deepcopy(model).eval()
        for module in folded.modules():
            if not isinstance(module, nn.Sequential):
                continue
            items = list(module._modules.items())
            for (conv_name, conv), (bn_name, bn) in zip(items, items[1:]):
                if (type(conv) is nn.Conv2d and type(bn) is nn.BatchNorm2d
                        and bn.track_running_stats and conv.out_channels == bn.num_features):
                    module._modules[conv_name] = fuse_conv_bn_eval(conv, bn)
                    module._modules[bn_name] = nn.Identity()
    return folded


def count_folded(model: nn.Module) -> int:
    """How many Conv2d + BatchNorm2d pairs :func:`fold_batchnorm` folds in ``model``."""
    count = 0
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            items = list(module._modules.values())
            count += sum(type(a) is nn.Conv2d and type(b) is nn.BatchNorm2d
                         for a, b in zip(items, items[1:]))
    return count


def _channels_last(model: nn.Module) -> nn.Module:
    with torch.inference_mode(False):
        return copy.deepcopy(model).to(memory_format=torch.channels_last)


def _run_channels_last(model: nn.Module) -> Run:
    def run(x):
        return model(x.contiguous(memory_format=torch.channels_last)).float()
    return run


class ChannelsLast(nn.Module):
    """``model`` (a copy) in channels_last memory format as a module: takes ordinary
    (N, C, H, W) input and returns what ``model`` returns, up to float rounding. The decision
    maps use it (BENCHMARKS.md, "Side by side and malloc": faster on one thread, and no map
    pixel different from eager's in the measurement there)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = _channels_last(model).eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


_channels_last_copies: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_copies_lock = threading.Lock()


def channels_last_copy(model: nn.Module) -> ChannelsLast:
    """``model``'s :class:`ChannelsLast` copy, made once per model object (thread-safe); a
    model changed in place after the first call is not copied again."""
    with _copies_lock:
        copy_ = _channels_last_copies.get(model)
        if copy_ is None:
            copy_ = _channels_last_copies[model] = ChannelsLast(model)
        return copy_


# ----------------------------------------------------------------------------- builders

def build_eager(model: nn.Module, example: torch.Tensor) -> Run:
    return model


def build_channels_last(model: nn.Module, example: torch.Tensor) -> Run:
    return _run_channels_last(_channels_last(model))


def build_fold_bn(model: nn.Module, example: torch.Tensor) -> Run:
    return fold_batchnorm(model)


def build_fold_bn_cl(model: nn.Module, example: torch.Tensor) -> Run:
    return _run_channels_last(_channels_last(fold_batchnorm(model)))


def find_compiler() -> str | None:
    """The C/C++ compiler torch.compile's CPU backend would use: $CXX, else g++, c++, clang++
    on PATH; None when there is none."""
    names = [os.environ["CXX"]] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    return next((shutil.which(n) for n in names if shutil.which(n)), None)


def compile_unavailable(device: torch.device) -> str | None:
    if device.type == "cuda":
        if importlib.util.find_spec("triton") is None:
            return "torch.compile on CUDA needs Triton, which is not installed; it is skipped."
        return None
    if find_compiler() is None:
        return ("torch.compile needs a C/C++ compiler (g++ or clang++, or $CXX) and none is on "
                "PATH; it is skipped and the other backends are used.")
    return None


def build_compile(model: nn.Module, example: torch.Tensor) -> Run:
    compiled = torch.compile(_channels_last(fold_batchnorm(model)), dynamic=False)
    return _run_channels_last(compiled)


def onnxruntime_unavailable(device: torch.device) -> str | None:
    if device.type != "cpu":
        return "the onnxruntime backend runs on the CPU only; it is skipped on " + str(device) + "."
    missing = [p for p in ("onnxruntime", "onnx") if importlib.util.find_spec(p) is None]
    if missing:
        verb = "are" if len(missing) > 1 else "is"
        return (f"ONNX Runtime is optional and {' and '.join(missing)} {verb} not installed "
                "('pip install onnxruntime onnx' adds it); the onnxruntime backend is skipped.")
    return None


def build_onnxruntime(model: nn.Module, example: torch.Tensor) -> Run:
    """Export ``model`` (on the CPU) to ONNX in memory, traced on ``example``'s shape with
    the batch axis dynamic, and open an ONNX Runtime CPU session with torch's intra-op thread
    count."""
    import onnxruntime as ort

    buffer = io.BytesIO()
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample = example[:2].detach().cpu().clone()   # a normal tensor, not an inference one
        torch.onnx.export(model, (sample,), buffer, dynamo=False, input_names=["x"],
                          output_names=["logits"], dynamic_axes={"x": {0: "n"},
                                                                 "logits": {0: "n"}})
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(x):
        out = session.run(None, {"x": x.detach().contiguous().cpu().numpy()})[0]
        return torch.from_numpy(out)
    return run


def autocast_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on the CPU, float16 on CUDA (bfloat16 where the GPU has it is as good)."""
    return torch.bfloat16 if device.type == "cpu" else torch.float16


def autocast_unavailable(device: torch.device) -> str | None:
    if device.type == "cpu":
        has = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
        if not has():
            return ("this CPU has no bfloat16 instructions (avx512_bf16), so bfloat16 autocast "
                    "would be slower than float32; it is skipped.")
    return None


def build_autocast(model: nn.Module, example: torch.Tensor) -> Run:
    cl = _channels_last(model)
    device = example.device
    dtype = autocast_dtype(device)

    def run(x):
        with torch.autocast(device.type, dtype=dtype):
            return cl(x.contiguous(memory_format=torch.channels_last)).float()
    return run


BACKENDS: dict[str, Backend] = {b.name: b for b in (
    Backend("eager", "the model as it is, float32 (the reference every table was made with)",
            "reference", True, build_eager),
    Backend("channels-last", "model and input in channels_last memory format", "float32", True,
            build_channels_last),
    Backend("fold-bn", "BatchNorm folded into the preceding convolution", "float32", False,
            build_fold_bn),
    Backend("fold-bn-cl", "BatchNorm folded into the preceding convolution, channels_last",
            "float32", True, build_fold_bn_cl),
    Backend("compile", "torch.compile of the folded channels_last model (Inductor)", "float32",
            False, build_compile, compile_unavailable, static_shapes=True),
    Backend("onnxruntime", "ONNX export run by ONNX Runtime (CPU provider; optional package)",
            "float32", True, build_onnxruntime, onnxruntime_unavailable),
    Backend("autocast", "channels_last under autocast: bfloat16 on the CPU, float16 on CUDA",
            "reduced", False, build_autocast, autocast_unavailable),
)}


def list_backends(device: str | torch.device = "cpu") -> list[dict]:
    """One entry per backend: name, description, precision, default, and why it cannot run on
    ``device`` (None when it can)."""
    dev = torch.device(device)
    return [{"name": b.name, "description": b.description, "precision": b.precision,
             "default": b.default, "unavailable": b.unavailable(dev)} for b in BACKENDS.values()]
