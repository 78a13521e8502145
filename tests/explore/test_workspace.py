"""The app's session object: panels, differences, record tables, the gallery, default pair."""

import pytest
import torch

from analysis.errors import RAExplorerError
from analysis.explore.gallery import Query
from analysis.explore.plane import plane_maps
from analysis.explore.workspace import CLEAN_PANEL, LQ_PANEL, Workspace
from tests.conftest import SYNTH


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
    maps = plane_maps(ws.plane(2), ws.models(["clf-a", "clf-b"]), extent=3.0, resolution=17)
    assert maps["maps"]["clf-a"].classes.shape == (17, 17)
    assert maps["agreement"]["clf-a"]["clf-a"] == 1.0
    with torch.no_grad():
        assert maps["ra_length"] >= 0
