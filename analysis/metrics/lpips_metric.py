"""LPIPS (the lpips package with its shipped linear layers) on a local ImageNet trunk: where the
trunk weights are, whether they are there, and the strict build (never random weights)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch

from ..config import settings
from ..errors import RAExplorerError
from .spec import MetricUnavailableError

LPIPS_TRUNKS = {  # net -> torchvision's file name of the ImageNet trunk weights
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
}


def lpips_trunk_path(net: str) -> Path | None:
    """Where the ImageNet trunk of ``lpips-<net>`` is: env var, config file, or torch hub cache."""
    candidates = [os.environ.get(f"RA_LPIPS_{net.upper()}_WEIGHTS"),
                  settings().get("lpips", {}).get(net)]
    torch_home = os.environ.get("TORCH_HOME", os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"))
    candidates.append(os.path.join(torch_home, "hub", "checkpoints", LPIPS_TRUNKS[net]))
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def lpips_available(net: str) -> Callable[[], tuple[bool, str]]:
    def check():
        if lpips_trunk_path(net):
            return True, ""
        return False, (f"lpips-{net} needs torchvision's ImageNet {net} weights "
                       f"({LPIPS_TRUNKS[net]}), which are not on this machine; put the file in "
                       f"~/.cache/torch/hub/checkpoints/ or set RA_LPIPS_{net.upper()}_WEIGHTS "
                       "to its path (or [lpips] in ra-explorer.toml).")
    return check


def build_lpips(net: str, device, trunk_path: Path | None = None):
    """The lpips package's LPIPS with its shipped linear layers and a local ImageNet trunk.

    Both loads are strict: a missing or unexpected key is an error, never a
    silently random layer.
    """
    import warnings

    import lpips

    trunk_path = trunk_path or lpips_trunk_path(net)
    if trunk_path is None:
        raise MetricUnavailableError(lpips_available(net)()[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lpips passes torchvision's deprecated 'pretrained'
        model = lpips.LPIPS(net=net, pretrained=False, pnet_rand=True, verbose=False)
    lin_path = Path(lpips.__file__).parent / "weights" / "v0.1" / f"{net}.pth"
    lin_state = torch.load(lin_path, map_location="cpu", weights_only=True)
    result = model.load_state_dict(lin_state, strict=False)
    def aliased(key):  # lpips keeps lin0..lin4 twice: as attributes and in the list 'lins'
        parts = key.split(".")
        return parts[0] == "lins" and ".".join([f"lin{parts[1]}"] + parts[2:]) in lin_state

    lin_missing = [k for k in result.missing_keys if k.startswith("lin") and not aliased(k)]
    if lin_missing or result.unexpected_keys:
        raise RAExplorerError(f"The LPIPS linear layers in {lin_path} do not fit lpips-{net}: "
                              f"missing {lin_missing[:3]}, unexpected {result.unexpected_keys[:3]}.")
    trunk = torch.load(trunk_path, map_location="cpu", weights_only=True)
    mapped = {}
    for key in model.net.state_dict():
        _, index, param = key.split(".")            # sliceK.IDX.param
        source = f"features.{index}.{param}"
        if source not in trunk or trunk[source].shape != model.net.state_dict()[key].shape:
            raise RAExplorerError(f"{trunk_path} is not torchvision's ImageNet {net} "
                                  f"(no tensor {source} of the right shape).")
        mapped[key] = trunk[source]
    model.net.load_state_dict(mapped, strict=True)
    model = model.to(device).eval()

    def fn(x, y):
        if x.shape[1] == 1:
            x, y = x.repeat(1, 3, 1, 1), y.repeat(1, 3, 1, 1)
        return model(x, y, normalize=True)  # normalize: [0, 1] -> [-1, 1]
    fn.model = model
    return fn
