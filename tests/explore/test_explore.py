import io

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.errors import RAExplorerError
from analysis.explore.gallery import Query
from analysis.explore.workspace import CLEAN_PANEL, LQ_PANEL, Workspace, enlarge_png, plane_maps, read_upload
from tests.conftest import SYNTH


def png_bytes(array, mode=None, fmt="PNG"):
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format=fmt)
    return buf.getvalue()


def test_upload_is_converted_to_the_dataset_format():
    rgb = (np.random.default_rng(0).random((60, 40, 3)) * 255).astype(np.uint8)
    x = read_upload(png_bytes(rgb), channels=1, size=28)
    assert x.shape == (1, 28, 28) and 0 <= float(x.min()) and float(x.max()) <= 1
    assert read_upload(png_bytes(rgb, fmt="JPEG"), channels=3, size=32).shape == (3, 32, 32)


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"%PDF-1.4 not an image at all", "not an image"),
    (b"\x89PNG" + b"0" * (9 * 2**20), "limit is 8 MiB"),
])
def test_bad_uploads_get_one_sentence(data, message):
    with pytest.raises(RAExplorerError, match=message):
        read_upload(data, channels=1, size=28)


def test_decompression_bomb_is_refused_before_decoding():
    bomb = png_bytes(np.zeros((5000, 5000), dtype=np.uint8))   # 25 Mpx, a few kB on disk
    assert len(bomb) < 100_000
    with pytest.raises(RAExplorerError, match="decompression-bomb guard"):
        read_upload(bomb, channels=1, size=28)


def test_enlarge_png_is_lossless_nearest_neighbour():
    img = np.array([[0.0, 1.0], [0.5, 0.25]])
    out = np.asarray(Image.open(io.BytesIO(enlarge_png(img, scale=3))))
    assert out.shape == (6, 6) and out[0, 0] == 0 and out[0, 5] == 255 and out[5, 5] == 64
    assert (out[3:, :3] == 128).all()
    signed = np.asarray(Image.open(io.BytesIO(enlarge_png(np.zeros((2, 2)), 1, signed=True))))
    assert (signed == 128).all()


def test_workspace_panels_filters_and_maps(tiny_zoo):
    ws = Workspace("sr", SYNTH, str(tiny_zoo))
    panels = ws.panels(3, "clf-a", metrics=("psnr", "ssim"))
    names = [p.name for p in panels]
    assert names[:2] == [CLEAN_PANEL, LQ_PANEL] and set(names[2:]) == {"sr-plain", "sr-ra"}
    assert panels[0].values == {} and set(panels[1].values) == {"psnr", "ssim"}
    assert abs(sum(p for _, p in panels[0].topk) - 1) < 1 and len(panels[0].topk) == 3
    diffs = ws.differences(panels)
    assert diffs["sr-plain"]["minus_plain"].max() == 0
    table, where = ws.record_table("clf-a")     # no shipped table for SYNTH: measured now
    assert "measured now" in where and len(table) == min(len(ws.test), 2000)
    selection, _ = ws.gallery(Query("clf-a", "sr-ra", "sr-plain", filter="A right, B wrong"))
    rows = {int(i): r for r, i in enumerate(table.index)}
    for i in selection.indices:
        r = rows[int(i)]
        assert table.pred[("sr-ra", "clf-a")][r] == table.label[r] == int(ws.test[int(i)][1])
        assert table.pred[("sr-plain", "clf-a")][r] != table.label[r]
    with pytest.raises(RAExplorerError, match="Unknown filter"):
        ws.gallery(Query("clf-a", "sr-ra", "sr-plain", filter="everything"))
    with pytest.raises(RAExplorerError, match="Unknown classifier"):
        ws.record_table("nope")
    # Compare shows one processor per method by default; the variants are left out
    ws.processor_cards["sr-ra-lam1"] = {"name": "sr-ra-lam1", "method": "ra", "lambda": 1.0}
    assert ws.main_processors() == ["sr-plain", "sr-ra"]
    del ws.processor_cards["sr-ra-lam1"]
    subset = ws.panels(3, "clf-a", metrics=("psnr",), processors=["sr-ra"])
    assert [p.name for p in subset] == [CLEAN_PANEL, LQ_PANEL, "sr-ra"]
    # the Boundaries page opens on the RA source and a standard (not adversarial) classifier
    assert ws.default_pair() == ["clf-a", "clf-b"]
    ws.processor_cards["sr-ra"]["source"] = "clf-b"
    assert ws.default_pair() == ["clf-b", "clf-a"]
    maps = plane_maps(ws, 2, ["clf-a", "clf-b"], extent=3.0, resolution=17)
    assert maps["maps"]["clf-a"].classes.shape == (17, 17)
    assert maps["agreement"]["clf-a"]["clf-a"] == 1.0
    with torch.no_grad():
        assert maps["ra_length"] >= 0
