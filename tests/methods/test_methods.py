"""The method registries: what ``list methods`` shows, and the order the tables follow."""

from analysis.methods import METHOD_LABELS, METHODS, RECOGNIZER_METHODS, list_methods


def test_every_method_is_listed():
    listed = list_methods()
    assert [m["name"] for m in listed if m["kind"] == "processor"] == list(METHODS)
    assert {m["name"] for m in listed if m["kind"] == "classifier"} == set(RECOGNIZER_METHODS)


def test_processor_methods_keep_the_order_and_labels_of_the_tables():
    # Table 1's rows and the zoo's processor order follow the registry's order
    assert list(METHODS) == ["plain", "ra", "ra-unsup", "ra-transformer", "perceptual",
                             "robust-perceptual"]
    assert METHOD_LABELS == {"plain": "plain", "ra": "RA", "ra-unsup": "RA-unsup",
                             "ra-transformer": "RA+T", "perceptual": "perceptual",
                             "robust-perceptual": "robust-perceptual"}
