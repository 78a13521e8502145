"""The gallery's filters equal a brute-force recount over the record table."""

import numpy as np
import pytest

from analysis.errors import RAExplorerError
from analysis.explore.gallery import FILTERS, SORTS, Query, describe, select
from analysis.pipeline.records import RecordTable

INPUTS = ["clean", "no processing", "p-plain", "p-ra", "p-other"]
CLASSIFIERS = ["c1", "c2"]


def random_table(n=500, classes=4, seed=0) -> RecordTable:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, classes, n)
    pred, prob, quality = {}, {}, {}
    for inp in INPUTS:
        for clf in CLASSIFIERS:
            right = rng.random(n) < 0.6
            pred[(inp, clf)] = np.where(right, label, rng.integers(0, classes, n)).astype(np.int16)
            prob[(inp, clf)] = rng.random(n).astype(np.float16)
        if inp != "clean":
            quality[("psnr", inp)] = rng.normal(20, 2, n).astype(np.float32)
            quality[("ssim", inp)] = rng.random(n).astype(np.float32)
    index = rng.permutation(10 * n)[:n].astype(np.int64)   # dataset indices, not row numbers
    return RecordTable("sr:scale=4", "synthetic", "test", INPUTS, CLASSIFIERS, index, label,
                       pred, prob, quality)


def brute_force(t: RecordTable, q: Query) -> set[int]:
    chosen = set()
    processed = [i for i in t.inputs if i != "clean"]
    for row in range(len(t)):
        y = t.label[row]
        right = {i: t.pred[(i, q.classifier)][row] == y for i in t.inputs}
        preds = {t.pred[(i, q.classifier)][row] for i in processed if i != "no processing"}
        keep = {"A right, B wrong": right[q.a] and not right[q.b],
                "A wrong, B right": not right[q.a] and right[q.b],
                "A and B disagree": t.pred[(q.a, q.classifier)][row]
                != t.pred[(q.b, q.classifier)][row],
                "A wrong": not right[q.a],
                "A and B right": right[q.a] and right[q.b],
                "methods disagree": len(preds) > 1,
                "all wrong": not any(right[i] for i in processed),
                "all images": True}[q.filter]
        if q.class_index is not None and y != q.class_index:
            keep = False
        conf = float(t.prob[(q.a, q.classifier)][row])
        if not (q.confidence[0] <= conf <= q.confidence[1]):
            keep = False
        if keep:
            chosen.add(int(t.index[row]))
    return chosen


@pytest.mark.parametrize("name", list(FILTERS))
@pytest.mark.parametrize("clf,a,b", [("c1", "p-ra", "p-plain"), ("c2", "p-other", "no processing")])
def test_filter_count_equals_a_brute_force_recount(name, clf, a, b):
    t = random_table()
    q = Query(clf, a, b, filter=name)
    sel = select(t, q)
    expected = brute_force(t, q)
    assert set(sel.indices.tolist()) == expected and len(sel) == len(expected)
    assert sel.total == len(t)
    assert describe(sel).startswith(f"{len(expected):,} of 500 test images")


def test_class_and_confidence_narrow_the_selection():
    t = random_table()
    q = Query("c1", "p-ra", "p-plain", filter="all images", class_index=2, confidence=(0.2, 0.7))
    sel = select(t, q)
    assert set(sel.indices.tolist()) == brute_force(t, q)
    assert 0 < len(sel) < len(t)


@pytest.mark.parametrize("sort", list(SORTS))
def test_sorted_by_the_chosen_score(sort):
    t = random_table()
    sel = select(t, Query("c1", "p-ra", "p-plain", filter="all images", sort=sort))
    assert np.all(np.diff(sel.scores) <= 0)
    asc = select(t, Query("c1", "p-ra", "p-plain", filter="all images", sort=sort,
                          descending=False))
    assert np.all(np.diff(asc.scores) >= 0)


def test_psnr_score_is_a_minus_b_of_the_same_image():
    t = random_table()
    sel = select(t, Query("c1", "p-ra", "p-plain", filter="A right, B wrong"))
    rows = {int(i): r for r, i in enumerate(t.index)}
    for i, s in zip(sel.indices, sel.scores):
        r = rows[int(i)]
        assert s == pytest.approx(float(t.quality[("psnr", "p-ra")][r])
                                  - float(t.quality[("psnr", "p-plain")][r]))


def test_pages_cover_the_selection_once():
    t = random_table()
    sel = select(t, Query("c1", "p-ra", "p-plain", filter="all images"))
    seen = np.concatenate([sel.page(k, 24)[0] for k in range(sel.pages(24))])
    assert np.array_equal(seen, sel.indices)
    assert np.array_equal(sel.page(10**6, 24)[0], sel.page(sel.pages(24) - 1, 24)[0])


def test_csv_export_lists_the_selected_indices_in_order():
    t = random_table()
    sel = select(t, Query("c2", "p-ra", "p-plain", filter="A and B disagree"))
    lines = sel.to_csv().splitlines()
    assert lines[0].startswith("# filter=A and B disagree") and lines[1] == "index,psnr_a_minus_b"
    assert [int(line.split(",")[0]) for line in lines[2:]] == sel.indices.tolist()


@pytest.mark.parametrize("query,message", [
    (Query("nope", "p-ra", "p-plain"), "holds no predictions of 'nope'"),
    (Query("c1", "p-ra", "missing"), "no input 'missing'"),
    (Query("c1", "p-ra", "p-plain", filter="odd"), "Unknown filter"),
    (Query("c1", "clean", "p-plain", sort="PSNR A - B"), "no PSNR of 'clean'"),
])
def test_bad_queries_get_one_sentence(query, message):
    with pytest.raises(RAExplorerError, match=message):
        select(random_table(), query)


def test_the_shipped_table_answers_only_for_the_same_weights(tmp_path):
    from analysis.explore.gallery import shipped_table

    t = random_table()
    t.provenance = {"checkpoints": {"c1": "aa", "p-ra": "bb"}}
    t.save(tmp_path / "records_sr_scale4.parquet")
    found, path = shipped_table(tmp_path, "sr:scale=4", "synthetic", "c1", {"c1": "aa", "p-ra": "bb",
                                                                            "other": "cc"})
    assert found is not None and path.name == "records_sr_scale4.parquet" and len(found) == 500
    assert shipped_table(tmp_path, "sr:scale=4", "synthetic", "c1", {"c1": "xx"})[0] is None
    assert shipped_table(tmp_path, "sr:scale=4", "synthetic", "c1", {"c1": "aa", "p-ra": "zz"})[0] is None
    assert shipped_table(tmp_path, "sr:scale=4", "other-data", "c1", {"c1": "aa"})[0] is None
    assert shipped_table(tmp_path, "denoise:sigma=0.1", "synthetic", "c1", {"c1": "aa"})[0] is None


def test_a_cell_folder_table_answers_where_the_results_folder_has_none(tmp_path):
    """The corruption processors' cell tables (results/corruption_processors/) answer for
    their task; a table of the results folder itself comes first."""
    from analysis.explore.gallery import shipped_table
    from analysis.pipeline.records import CELL_RECORD_FOLDERS

    spec = "corrupt:level=5,type=snow"
    t = random_table()
    t.provenance = {"checkpoints": {"c1": "aa"}}
    cell = tmp_path / CELL_RECORD_FOLDERS[0] / "records_corrupt_level5_typesnow.parquet"
    cell.parent.mkdir()
    t.save(cell)
    found, path = shipped_table(tmp_path, spec, "synthetic", "c1", {"c1": "aa"})
    assert found is not None and path == cell
    t.save(tmp_path / cell.name)
    assert shipped_table(tmp_path, spec, "synthetic", "c1", {"c1": "aa"})[1] == tmp_path / cell.name
    assert shipped_table(tmp_path, "sr:scale=4", "synthetic", "c1", {"c1": "aa"})[0] is None


def test_the_shipped_table_keeps_the_inputs_the_caller_shows(tmp_path):
    """A processor of the table whose weights this machine lacks (kept outside, store empty)
    is left out, so that "methods disagree" and "all wrong" mean the processors shown."""
    from analysis.explore.gallery import shipped_table

    t = random_table()
    t.provenance = {"checkpoints": {"c1": "aa"}}
    t.save(tmp_path / "records_sr_scale4.parquet")
    shown = ["clean", "no processing", "p-plain", "p-ra", "absent-here"]
    found, _ = shipped_table(tmp_path, "sr:scale=4", "synthetic", "c1", {"c1": "aa"}, shown)
    assert found.inputs == ["clean", "no processing", "p-plain", "p-ra"]
    assert ("p-other", "c1") not in found.pred and ("psnr", "p-other") not in found.quality
    assert np.array_equal(found.pred[("p-ra", "c2")], t.pred[("p-ra", "c2")])
    for name in ("methods disagree", "all wrong"):
        query = Query(classifier="c1", a="p-ra", b="p-plain", filter=name)
        assert set(select(found, query).indices.tolist()) == brute_force(found, query) != \
            brute_force(t, query)
