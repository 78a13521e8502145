"""The Features page's hover images as static files: content-addressed, written once."""

from app.components.tsne_cache import static_store


def test_the_static_store_writes_each_image_once_under_a_name_from_its_bytes(tmp_path):
    store = static_store(tmp_path / "tsne", "app/static/tsne")
    a, b = store(b"\x89PNG one"), store(b"\x89PNG two")
    assert a != b and a.startswith("app/static/tsne/") and a.endswith(".png")
    path = tmp_path / "tsne" / a.rsplit("/", 1)[1]
    assert path.read_bytes() == b"\x89PNG one"
    stamp = path.stat().st_mtime_ns
    again = static_store(tmp_path / "tsne", "app/static/tsne")   # a new process, same folder
    assert again(b"\x89PNG one") == a and path.stat().st_mtime_ns == stamp   # not rewritten
    assert sorted(p.name for p in (tmp_path / "tsne").iterdir()) == sorted(
        [a.rsplit("/", 1)[1], b.rsplit("/", 1)[1]])


def test_a_folder_that_cannot_be_made_gives_no_store(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert static_store(blocker / "tsne") is None      # the page then sends data URLs
