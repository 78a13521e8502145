"""The "fix the image or fix the recognizer" table on a tiny zoo, and the shipped one."""

import json
import re
import shutil

import numpy as np
import pytest

from analysis.analyses.recognizer_side import (
    family,
    format_recognizer_table,
    load_tables,
    measure_recognizers,
    record_stem,
    table_from_records,
)
from analysis.config import PROJECT_ROOT
from analysis.pipeline.runner import NO_PROCESSING
from analysis.training.recognizer_side import train_recognizer
from tests.conftest import SYNTH, TINY_CLASSIFIER

DEGS = ("sr", "jpeg-random", "compound")
RESULTS = PROJECT_ROOT / "results"


@pytest.fixture(scope="module")
def zoo(tiny_zoo, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rz") / "zoo"
    shutil.copytree(tiny_zoo, folder)
    train_recognizer("augment", "resnet20", {"degradation": "mix"}, dataset=SYNTH,
                     out=str(folder / "recognizers" / "aug"), epochs=1, batch_size=32,
                     arch_kwargs=TINY_CLASSIFIER, max_steps=3, val_limit=20,
                     state_dir=str(folder.parent), progress=False)
    return folder


def test_table_recomputes_from_its_saved_records(zoo, tmp_path):
    result = measure_recognizers(SYNTH, zoo, vanilla="clf-a", degradations=DEGS, limit=30,
                                 records_dir=tmp_path, progress=False)
    again = table_from_records(load_tables(tmp_path, DEGS), "clf-a", result["processors"])
    assert again["rows"] == result["rows"]
    assert result["classifiers"] == ["clf-a", "aug"]
    vanilla = next(r for r in result["rows"] if r["classifier"] == "clf-a" and r["input"] == "none")
    assert vanilla["mce"] == pytest.approx(1.0)
    plain = next(r for r in result["rows"] if r["classifier"] == "aug" and r["input"] == "plain")
    assert "sr" in plain["cells"] and "compound" not in plain["cells"]   # no compound processor
    text = format_recognizer_table(result)
    assert "| aug | no processing |" in text and "mCE" in text


def test_mce_is_the_mean_error_ratio(zoo, tmp_path):
    result = measure_recognizers(SYNTH, zoo, vanilla="clf-a", degradations=DEGS, limit=30,
                                 progress=False)
    ref = next(r for r in result["rows"] if r["classifier"] == "clf-a" and r["input"] == "none")
    row = next(r for r in result["rows"] if r["classifier"] == "aug" and r["input"] == "none")
    ratios = [(1 - row["cells"][d]["accuracy"]) / (1 - ref["cells"][d]["accuracy"])
              for d in result["mce_columns"]]
    assert result["mce_columns"] and len(ratios) < len(DEGS)
    assert row["mce"] == pytest.approx(sum(ratios) / len(ratios))


def test_no_recognizer_side_classifier_says_how_to_train_one(tiny_zoo):
    from analysis.errors import RAExplorerError

    with pytest.raises(RAExplorerError, match="build-zoo"):
        measure_recognizers(SYNTH, tiny_zoo, vanilla="clf-a", degradations=DEGS, limit=10,
                            progress=False)


def test_cli_limited_run_writes_records_and_table_to_runs(zoo, capsys):
    import json
    import os
    from pathlib import Path

    from analysis.cli.main import main

    code = main(["recognizer-side", "--dataset", SYNTH, "--checkpoints", str(zoo), "--classifier",
                 "clf-a", "--tasks", "sr,compound", "--first", "20", "--no-progress",
                 "--json"])
    assert code == 0
    out = capsys.readouterr()
    assert "Not the full protocol" in out.err
    folder = Path(out.err.split("writing to ")[1].split(";")[0])
    assert str(folder).startswith(os.environ["RA_RUNS"])
    assert {p.name for p in folder.iterdir()} >= {"recognizers.json", "recognizers.md",
                                                 "records_recognizers_sr_scale4.parquet"}
    assert json.loads(out.out)["n_images"] == 20


def test_features_of_a_recognizer_side_classifier_hq_and_lq_only(zoo):
    """QualNet's Figure 2 analog: HQ vs LQ features of a classifier in the collection."""
    from analysis.analyses.features import feature_report

    report = feature_report("compound", "aug", n=20, folder=zoo, dataset=SYNTH, processors=[],
                            progress=False)
    assert report["sources"] == ["HQ", "LQ"]
    assert {"hq_distance", "knn_agreement", "silhouette"} <= set(report["measures"]["sources"]["LQ"])


def test_recognizer_side_classifiers_are_offered_with_the_zoos(zoo):
    from analysis.explore.workspace import Workspace, classifier_names

    names = classifier_names(SYNTH, zoo)
    assert names[-1] == "aug" and "clf-a" in names
    ws = Workspace("sr", SYNTH, zoo)
    assert "aug" in ws.classifiers
    panels = ws.panels(0, "aug", processors=["sr-plain"])
    assert panels and all(p.topk for p in panels)


def test_evaluate_takes_a_recognizer_side_classifier_by_name(zoo, capsys):
    from analysis.cli.main import main

    assert main(["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(zoo),
                 "--sample", "12", "--classifiers", "aug,clf-a", "--json", "--no-progress"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["classifiers"] == ["aug", "clf-a"]          # the order given
    assert main(["evaluate", "--task", "sr", "--dataset", SYNTH, "--checkpoints", str(zoo),
                 "--sample", "12", "--classifiers", "augg", "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "No classifier augg" in err and "'aug'" in err


def test_every_mce_compares_the_same_columns(zoo, tmp_path):
    """A row behind a processor has no compound cell; no row's mCE may average it in."""
    result = measure_recognizers(SYNTH, zoo, vanilla="clf-a", degradations=DEGS, limit=30,
                                 progress=False)
    assert result["mce_columns"] == ["sr"]          # the tiny zoo has SR processors alone
    plain = next(r for r in result["rows"] if r["classifier"] == "aug" and r["input"] == "plain")
    assert set(plain["ce"]) == {"sr"}
    for row in result["rows"]:
        assert row["mce"] == pytest.approx(row["ce"]["sr"])
    text = format_recognizer_table(result)
    assert "the same 1 degraded column for every row (sr)" in text
    assert "Jpeg-random, compound, where some rows have no value, are in no row's mCE" in text


SHIPPED_INPUTS = {"no processing": None, "plain processor": "plain", "RA processor": "ra"}


def shipped_rows(text: str) -> tuple[list[str], list[str], list[list[str]]]:
    """(column names, the stated mCE column set, the table rows' cells) of recognizers.md."""
    stated = re.search(r"mean over the same \d+ degraded columns for every row \(([^)]*)\)", text)
    assert stated, "recognizers.md does not say which columns its mCE averages"
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
    return header, stated.group(1).split(", "), rows


@pytest.mark.skipif(not (RESULTS / "recognizers.md").exists(), reason="no shipped table")
def test_shipped_mce_recounts_from_the_record_tables_over_one_column_set():
    """Every mCE of results/recognizers.md, recomputed from the shipped per-image record
    tables (top-1 class vs label) over the one column set the table states."""
    from analysis.pipeline.records import RecordTable

    header, columns, rows = shipped_rows((RESULTS / "recognizers.md").read_text())
    meta = json.loads((RESULTS / "recognizers.json").read_text())
    tables = {d: RecordTable.load(RESULTS / f"{record_stem(d)}.parquet")
              for d in header[3:-1]}
    assert set(columns) < set(tables) and len(rows) == 3 * len(meta["classifiers"])

    def error(deg, clf, kind):
        name = NO_PROCESSING if kind is None else meta["processors"][family(deg)][kind]
        return 1 - tables[deg].correct(name, clf).mean()

    for row in rows:
        clf, kind = row[0], SHIPPED_INPUTS[row[1]]
        for deg in columns:   # the stated set: a value in every row
            assert row[header.index(deg)] != "—", (clf, row[1], deg)
        ce = [error(d, clf, kind) / error(d, meta["vanilla"], None) for d in columns]
        assert row[-1] == f"{np.mean(ce):.3f}", (clf, row[1])
