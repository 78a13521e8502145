"""Detection canvases (an analog of PASCAL VOC) built deterministically from a classification
dataset: each canvas a black square holding 1 to 4 of the dataset's images at random positions
and scales, with the exact box and class of each.

Canvas ``i`` of split ``split`` with seed ``seed`` is drawn by ``random.Random`` seeded with the
string ``"ra-explorer-canvas:<seed>:<split>:<i>"`` (Python hashes string seeds with SHA-512, so
it is the same in every process and on every machine): the number of items (uniform in
``min_items``..``max_items``), then per item its side (uniform in ``min_side``..``max_side``
pixels) and its top-left corner (uniform over the positions inside the canvas). Items are placed
without overlap: a drawn square that meets an earlier item's square is drawn again, up to
:data:`PLACEMENT_TRIES` times, after which the item is left out (the first item always fits).
Which images fill the canvas: the base split's indices in a fixed order (shuffled by
``random.Random("ra-explorer-canvas-items:<seed>:<split>")``); canvas ``i`` takes the
``max_items`` entries from position ``i * max_items`` on (wrapping), so no image repeats until
the split is used up. A canvas is made only of its own split's images: the test canvases of
test images, the train canvases of train images (and val of val).

An item is its image resized (bilinear, antialiased) to ``side`` x ``side`` and rounded to
multiples of 1/255; its box is the tight box of its foreground pixels (largest channel value
above ``threshold``) in pixel-edge coordinates ``(x0, y0, x1, y1)``: the item covers columns
``x0 .. x1 - 1`` and rows ``y0 .. y1 - 1`` (torchvision's and COCO's convention). Since items do
not overlap, the boxes are exact. An item without a foreground pixel is left out, so a canvas
may hold no box at all when its only image is blank.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .containers import DatasetInfo

CANVAS_SIZE = 112          # pixels, square
MIN_ITEMS, MAX_ITEMS = 1, 4
MIN_SIDE, MAX_SIDE = 20, 48   # an item's side in pixels, resized from the base image
THRESHOLD = 0.1            # foreground: the largest channel value above this (images in [0, 1])
PLACEMENT_TRIES = 50       # draws of an item's square before it is left out


def resize_item(image: torch.Tensor, side: int) -> torch.Tensor:
    """``image`` (C, h, w) in [0, 1] resized to (C, side, side), bilinear with antialiasing,
    rounded to multiples of 1/255 (what an 8-bit image file would hold)."""
    out = F.interpolate(image[None].float(), size=(side, side), mode="bilinear",
                        align_corners=False, antialias=True)[0]
    return (out.clamp(0, 1) * 255).round() / 255


def foreground_box(item: torch.Tensor, threshold: float = THRESHOLD) -> tuple[int, int, int, int] | None:
    """The tight box ``(x0, y0, x1, y1)`` (pixel edges, x1 / y1 exclusive) of the pixels of
    ``item`` (C, h, w) whose largest channel value exceeds ``threshold``; None if there are none."""
    mask = item.amax(dim=0) > threshold
    if not bool(mask.any()):
        return None
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def compose_canvas(items: list[tuple[torch.Tensor, int]], placements: list[tuple[int, int, int]],
                   size: int = CANVAS_SIZE, channels: int | None = None,
                   threshold: float = THRESHOLD) -> tuple[torch.Tensor, dict]:
    """Draw ``items`` ((image (C, h, w) in [0, 1], label) each) at ``placements`` ((x, y, side):
    top-left corner and side in pixels, squares inside the canvas and not overlapping) on a
    black canvas of ``size`` x ``size``.

    Returns ``(canvas (C, size, size) float in [0, 1], {"boxes": float (K, 4) x0, y0, x1, y1 in
    pixels, "labels": int64 (K,)})``, one box per item with a foreground pixel (see
    :func:`foreground_box`), in the order of ``items``.
    """
    channels = channels or (items[0][0].shape[0] if items else 1)
    canvas = torch.zeros(channels, size, size)
    boxes, labels = [], []
    for (image, label), (x, y, side) in zip(items, placements):
        if x < 0 or y < 0 or x + side > size or y + side > size:
            raise ValueError(f"An item of side {side} at ({x}, {y}) does not fit a canvas of "
                             f"{size} pixels.")
        item = resize_item(image, side)
        box = foreground_box(item, threshold)
        if box is None:
            continue
        canvas[:, y:y + side, x:x + side] = item.expand(channels, side, side)
        boxes.append((x + box[0], y + box[1], x + box[2], y + box[3]))
        labels.append(int(label))
    return canvas, {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                    "labels": torch.tensor(labels, dtype=torch.int64)}


def _overlaps(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    (xa, ya, sa), (xb, yb, sb) = a, b
    return xa < xb + sb and xb < xa + sa and ya < yb + sb and yb < ya + sa


def draw_placements(rng: random.Random, count: int, size: int, min_side: int,
                    max_side: int) -> list[tuple[int, int, int] | None]:
    """``count`` squares (x, y, side) drawn by ``rng`` without overlap (None for an item left
    out after :data:`PLACEMENT_TRIES` draws); the draws are the module docstring's."""
    placed: list[tuple[int, int, int]] = []
    out: list[tuple[int, int, int] | None] = []
    for _ in range(count):
        chosen = None
        for _ in range(PLACEMENT_TRIES):
            side = rng.randint(min_side, max_side)
            square = (rng.randint(0, size - side), rng.randint(0, size - side), side)
            if not any(_overlaps(square, other) for other in placed):
                chosen = square
                break
        if chosen is not None:
            placed.append(chosen)
        out.append(chosen)
    return out


class CanvasDataset(Dataset):
    """``n`` detection canvases of ``size`` x ``size`` made from ``base`` (a classification
    dataset of the split ``split``), drawn as the module docstring says.

    Items are ``(image (C, size, size) float in [0, 1], {"boxes": float (K, 4), "labels":
    int64 (K,)}, index)``; ``get_batch(indices)`` returns ``(images (B, C, size, size), list of
    B target dicts, indices (B,))``; ``layout(i)`` the base indices and squares behind canvas i.
    """

    def __init__(self, base: Dataset, n: int, split: str, seed: int = 0, size: int = CANVAS_SIZE,
                 min_items: int = MIN_ITEMS, max_items: int = MAX_ITEMS, min_side: int = MIN_SIDE,
                 max_side: int = MAX_SIDE, threshold: float = THRESHOLD, info: DatasetInfo | None = None):
        if not 1 <= min_items <= max_items:
            raise ValueError(f"Canvas items must satisfy 1 <= min_items <= max_items; got "
                             f"{min_items} and {max_items}.")
        if not 1 <= min_side <= max_side <= size:
            raise ValueError(f"Canvas item sides must satisfy 1 <= min_side <= max_side <= size; "
                             f"got {min_side}, {max_side} and {size}.")
        if len(base) == 0:
            raise ValueError(f"The {split} split of the canvases' base dataset is empty.")
        self.base, self.n, self.split, self.seed, self.size = base, int(n), split, seed, size
        self.min_items, self.max_items = min_items, max_items
        self.min_side, self.max_side, self.threshold = min_side, max_side, threshold
        order = list(range(len(base)))
        random.Random(f"ra-explorer-canvas-items:{seed}:{split}").shuffle(order)
        self.order = order
        self.info = info or DatasetInfo(
            "canvas", base.info.channels, size, base.info.class_names, base.info.mean,
            base.info.std, extra={"task": "detection"}, splits=dict(base.info.splits))

    def __len__(self) -> int:
        return self.n

    def layout(self, i: int) -> list[tuple[int, tuple[int, int, int]]]:
        """Canvas ``i``'s items: (index in the base split, (x, y, side)) for each placed item."""
        if not 0 <= i < self.n:
            raise IndexError(f"canvas {i} of {self.n}")
        rng = random.Random(f"ra-explorer-canvas:{self.seed}:{self.split}:{i}")
        count = rng.randint(self.min_items, self.max_items)
        squares = draw_placements(rng, count, self.size, self.min_side, self.max_side)
        start = i * self.max_items
        return [(self.order[(start + j) % len(self.order)], square)
                for j, square in enumerate(squares) if square is not None]

    def __getitem__(self, i: int):
        layout = self.layout(int(i))
        items = []
        for index, _ in layout:
            image, label, _ = self.base[index]
            items.append((image, label))
        canvas, target = compose_canvas(items, [square for _, square in layout], self.size,
                                        self.info.channels, self.threshold)
        return canvas, target, int(i)

    def get_batch(self, indices: torch.Tensor):
        """``(images float (B, C, size, size), [target dict] * B, indices (B,))``."""
        indices = torch.as_tensor(indices, dtype=torch.long)
        items = [self[int(i)] for i in indices]
        return torch.stack([image for image, _, _ in items]), [t for _, t, _ in items], indices
