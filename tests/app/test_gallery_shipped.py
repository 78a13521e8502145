"""AppTest on the shipped checkpoints and results: choosing any classifier the Gallery offers
reads the shipped record table (every test image) and measures nothing live."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis.config import PROJECT_ROOT
from analysis.data.formats.idx import fashion_mnist_dirs
from analysis.zoo.catalogue import classifier_cards

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
HAS_FMNIST = any((d / "t10k-images-idx3-ubyte.gz").exists() for d in fashion_mnist_dirs(None))


@pytest.mark.skipif(not HAS_FMNIST, reason="Fashion-MNIST is not installed")
def test_every_shipped_classifier_answers_from_the_shipped_record_table(monkeypatch):
    monkeypatch.setenv("RA_CHECKPOINTS", str(PROJECT_ROOT / "checkpoints"))
    monkeypatch.setenv("RA_DATASET", "fashion-mnist")
    monkeypatch.setenv("RA_RESULTS", str(PROJECT_ROOT / "results"))
    names = [c["name"] for c in classifier_cards(PROJECT_ROOT / "checkpoints", "fashion-mnist")]
    assert "resnet20-feature-kd" in names
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.run()
    at.switch_page("views/gallery.py")
    at.run()
    for name in names:
        at.selectbox(key="gallery_classifier").set_value(name).run()
        assert not at.exception, [e.message for e in at.exception]
        where = next(c.value for c in at.caption if c.value.startswith("From "))
        assert where.startswith("From records_sr_scale4.parquet (10,000 test images)"), (name,
                                                                                         where)
        assert "measured now" not in where
