import json
from pathlib import Path

from analysis.data.corruptions import CORRUPTIONS
from analysis.data.folders import dataset_slug
from analysis.data.tasks import create_task
from analysis.training import build, recipe, selection
from analysis.training.build import build_zoo
from analysis.training.recipe import RECIPE, processor_entries
from analysis.training.selection import apply_rule
from tests.conftest import SYNTH


def test_recipe_names_are_unique_and_recognizers_come_first():
    names = [e["name"] for e in RECIPE]
    assert len(names) == len(set(names))
    seen = set()
    for entry in RECIPE:
        rec = entry["args"].get("recognizer")
        if rec:   # a name in the zoo, or a path into a collection (the loss grid's networks)
            assert Path(rec).name in seen, f"{entry['name']} needs {rec} before it"
        for dep in recipe.dependencies(entry):
            assert dep in seen, f"{entry['name']} needs {dep} before it"
        seen.add(entry["name"])
    classifiers = [e for e in RECIPE if e["verb"] == "classifier"]
    assert len([c for c in classifiers if not c["args"].get("adv_eps")]) >= 5
    assert len({c["args"]["arch"] for c in classifiers}) >= 4


def test_every_task_has_every_method():
    for task in ("sr", "denoise", "jpeg"):
        names = {e["name"] for e in RECIPE}
        for method in ("plain", "ra", "ra-unsup", "ra-transformer", "perceptual",
                       "robust-perceptual"):
            assert f"{task}-{method}" in names


def test_every_main_processor_has_two_more_seeds_that_differ_only_in_the_seed():
    by_name = {e["name"]: e for e in RECIPE}
    for task in ("sr", "denoise", "jpeg"):
        for method in recipe.SEED_METHODS:
            zoo = by_name[f"{task}-{method}"]
            for seed in recipe.SEEDS:
                entry = by_name[recipe.seed_name(zoo["name"], seed)]
                assert entry["folder"] == recipe.SEEDS_DIR and entry["seed_of"] == zoo["name"]
                assert entry["args"] == {**zoo["args"], "seed": seed}
                assert recipe.dependencies(entry) == recipe.dependencies(zoo)
    assert len([e for e in RECIPE if e.get("folder") == recipe.SEEDS_DIR]) == 3 * 6 * len(recipe.SEEDS)


def test_the_sr_loss_grid_has_two_more_seeds_that_differ_only_in_the_seed():
    by_name = {e["name"]: e for e in RECIPE}
    grid = [e for e in RECIPE if e.get("folder") == recipe.LOSS_GRID_DIR
            and e["verb"] == "processor" and e["name"].startswith("sr-")]
    assert len(grid) == 10
    for zoo in grid:
        for seed in recipe.SEEDS:
            entry = by_name[recipe.seed_name(zoo["name"], seed)]
            assert entry["folder"] == recipe.LOSS_GRID_SEEDS_DIR and entry["seed_of"] == zoo["name"]
            assert entry["args"] == {**zoo["args"], "seed": seed}
            assert recipe.dependencies(entry) == recipe.dependencies(zoo)
    assert len([e for e in RECIPE if e.get("folder") == recipe.LOSS_GRID_SEEDS_DIR]) == 20


def test_a_seed_entry_trains_into_the_seeds_folder_with_its_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    monkeypatch.setattr(recipe, "BASES", str(tmp_path / "bases"))
    monkeypatch.setattr(recipe, "SEEDS_DIR", str(tmp_path / "seeds"))
    monkeypatch.setattr(recipe, "TASKS", {"sr": {"arch_kwargs": {"channels": 8, "blocks": 1},
                                                 "base_epochs": 1, "epochs": 1}})
    base, plain = [e for e in processor_entries("sr") if e["name"] in ("sr-base", "sr-plain")]
    entries = [base, plain, *recipe.seed_entries([plain], seeds=(1,))]
    for e in entries:
        e["dataset"] = SYNTH
        e["args"]["max_steps"] = 2
    zoo = tmp_path / "zoo"
    trained = build_zoo(folder=zoo, state_dir=str(tmp_path / "runs"), progress=False,
                        recipe=entries)
    assert trained == ["sr-base", "sr-plain", "sr-plain-seed1"]
    card = json.loads((tmp_path / "seeds" / "sr-plain-seed1.json").read_text())
    zero = json.loads((zoo / "sr-plain.json").read_text())
    assert card["training"]["seed"] == 1 and zero["training"]["seed"] == 0
    assert card["training"]["init"] == zero["training"]["init"]
    assert card["weights"]["sha256"] != zero["weights"]["sha256"]


def test_randomized_processors_differ_from_their_family_only_in_the_task(monkeypatch):
    """Table 15's processors: the fixed task's base, architecture, schedule and chosen RA
    lambda (looked up under the fixed task), trained on the randomized or compound task."""
    by_name = {e["name"]: e for e in RECIPE}
    for task, family in recipe.RANDOMIZED.items():
        for method in recipe.RANDOMIZED_METHODS:
            entry, fixed = by_name[f"{task}-{method}"], by_name[f"{family}-{method}"]
            assert entry["folder"] == recipe.RANDOMIZED_DIR and entry["lambda_of"] == family
            assert entry["args"] == {**fixed["args"], "task": task}
            assert recipe.dependencies(entry) == recipe.dependencies(fixed)
    monkeypatch.setattr(recipe, "chosen_lambda",
                        lambda task, method, source, dataset: {"sr": 0.001}[task])
    assert recipe.resolve_lambda(by_name["compound-ra"]) == 0.001   # SR's, not compound's


def test_corruption_processors_differ_from_the_denoiser_only_in_the_task_and_images():
    """Tables 12-13's processors: the denoising base, architecture, schedule and chosen lambda,
    on the first CORRUPTION_TRAIN_IMAGES training images of one benchmark cell."""
    by_name = {e["name"]: e for e in RECIPE}
    entries = [e for e in RECIPE if e.get("folder") == recipe.CORRUPTION_DIR]
    cells = {(create_task(e["args"]["task"]).params["type"],
              create_task(e["args"]["task"]).params["level"], e["args"]["method"])
             for e in entries}
    assert len(cells) == len(entries)
    table12 = {(t, m) for t, lv, m in cells if lv == 5 and m in ("plain", "ra")}
    assert table12 == {(t, m) for t in CORRUPTIONS if t != "saturate" for m in ("plain", "ra")}
    for kind in ("snow", "speckle_noise"):
        assert {(lv, m) for t, lv, m in cells if t == kind} == {
            (lv, m) for lv in (1, 2, 3, 4, 5)
            for m in ("plain", "ra", "ra-unsup", "ra-transformer")}
    assert len(entries) == 18 * 2 + 2 * (5 * 4 - 2)
    for entry in entries:
        fixed = by_name[f"denoise-{entry['args']['method']}"]
        assert entry["lambda_of"] == "denoise" and entry["args"] == {
            **fixed["args"], "task": entry["args"]["task"],
            "limit": recipe.CORRUPTION_TRAIN_IMAGES}
        assert recipe.dependencies(entry) == recipe.dependencies(fixed)


def test_a_corruption_entry_trains_on_its_cell(tmp_path, monkeypatch):
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    monkeypatch.setattr(recipe, "BASES", str(tmp_path / "bases"))
    monkeypatch.setattr(recipe, "CORRUPTION_DIR", str(tmp_path / "corruptions"))
    monkeypatch.setattr(recipe, "TASKS", {"denoise": {"arch_kwargs": {"channels": 8, "blocks": 1},
                                                      "base_epochs": 1, "epochs": 1}})
    base = next(e for e in processor_entries("denoise") if e["name"] == "denoise-base")
    cell = next(e for e in recipe.corruption_entries() if e["name"] == "corrupt-snow-5-plain")
    entries = [base, cell]
    for e in entries:
        e["dataset"] = SYNTH
        e["args"]["max_steps"] = 2
    trained = build_zoo(folder=tmp_path / "zoo", state_dir=str(tmp_path / "runs"),
                        progress=False, recipe=entries)
    assert trained == ["denoise-base", "corrupt-snow-5-plain"]
    card = json.loads((tmp_path / "corruptions" / "corrupt-snow-5-plain.json").read_text())
    assert card["task"] == create_task("corrupt:type=snow,level=5").spec
    assert card["training"]["limit"] == recipe.CORRUPTION_TRAIN_IMAGES
    assert card["weights"]["dtype"] == "float16"


def test_the_recognizer_side_on_corruptions_differs_only_in_the_degradation():
    by_name = {e["name"]: e for e in RECIPE}
    entries = recipe.recognizer_corruption_entries()
    assert [e["name"] for e in entries] == [
        f"resnet20-{m}-corrupt-seen" for m in ("augment", "feature-kd", "qualnet", "train-on-lq")]
    for entry in entries:
        base = by_name[entry["name"].removesuffix("-corrupt-seen")]
        assert entry["args"] == {**base["args"], "options": {**base["args"]["options"],
                                                             "degradation": "corrupt-seen"}}
        assert entry["folder"] == recipe.RECOGNIZER_DIR and entry["name"] in by_name
        assert recipe.dependencies(entry) == recipe.dependencies(base)


def test_the_recognizer_side_on_another_architecture_taps_its_7x7_map():
    by_name = {e["name"]: e for e in RECIPE}
    entries = recipe.recognizer_architecture_entries()
    assert [e["name"] for e in entries] == [
        f"vgg11-bn-{m}" for m in ("augment", "feature-kd", "qualnet", "train-on-lq")]
    for entry in entries:
        base = by_name[entry["name"].replace("vgg11-bn", "resnet20", 1)]
        args = entry["args"]
        assert args["arch"] == "vgg11-bn" and args["epochs"] == by_name["vgg11-bn"]["args"]["epochs"]
        assert args["options"]["degradation"] == base["args"]["options"]["degradation"]
        assert args["options"].get("kd_layer") == (
            "block2" if args["method"] in ("feature-kd", "qualnet") else None)
        assert entry["name"] in by_name
    assert by_name["vgg11-bn-feature-kd"]["args"]["options"]["teacher"] == "vgg11-bn"
    assert "vgg11-bn" in recipe.dependencies(by_name["vgg11-bn-feature-kd"])


def test_selection_rule():
    cands = [{"lambda": 0.001, "val_psnr": 20.0, "val_accuracy": 0.70},
             {"lambda": 0.01, "val_psnr": 19.5, "val_accuracy": 0.80},
             {"lambda": 0.1, "val_psnr": 17.0, "val_accuracy": 0.90}]
    assert apply_rule(20.2, cands, max_psnr_drop=1.0) == 0.01      # 0.1 costs 3.2 dB
    assert apply_rule(20.2, cands, max_psnr_drop=5.0) == 0.1
    assert apply_rule(30.0, cands, max_psnr_drop=1.0) == 0.001     # none qualifies


def test_recipe_pipeline_end_to_end_on_synthetic(tmp_path, monkeypatch):
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    monkeypatch.setattr(recipe, "BASES", str(tmp_path / "bases"))
    monkeypatch.setattr(recipe, "TASKS", {"sr": {"arch_kwargs": {"channels": 8, "blocks": 1},
                                                 "base_epochs": 1, "epochs": 1}})
    monkeypatch.setattr(recipe, "GRIDS", {"ra": [0.01, 1.0]})
    monkeypatch.setattr(recipe, "TRANSFER_SOURCES", ["vgg11-bn"])
    monkeypatch.setattr(recipe, "SWEEP", [0.01, 1.0])   # one of them is the chosen lambda
    entries = [
        {"name": "resnet20", "verb": "classifier",
         "args": {"arch": "resnet20", "epochs": 1, "arch_kwargs": {"width": 4}}},
        {"name": "vgg11-bn", "verb": "classifier",
         "args": {"arch": "vgg11-bn", "epochs": 1, "arch_kwargs": {"width_mult": 0.125}}},
    ] + processor_entries("sr")
    for e in entries:
        e["dataset"] = SYNTH
    zoo = tmp_path / "zoo"
    trained = build_zoo(folder=zoo, state_dir=str(tmp_path / "runs"), progress=False,
                        recipe=entries)
    selections = tmp_path / "datasets" / dataset_slug(SYNTH) / "lambda_selection.json"
    assert not (tmp_path / "lambda_selection.json").exists()   # the embedded default's is not touched
    record = json.loads(selections.read_text())["sr:scale=4|ra|resnet20"]
    # the sweep point at the chosen lambda is sr-ra itself and is not trained a second time
    covered = f"sr-ra-lam{record['chosen']:g}"
    assert trained == [e["name"] for e in entries if e["name"] != covered]
    assert not (zoo / f"{covered}.json").exists()
    other = f"sr-ra-lam{({0.01, 1.0} - {record['chosen']}).pop():g}"
    assert json.loads((zoo / f"{other}.json").read_text())["lambda"] != record["chosen"]
    # the plain reference of the grid is one per task, whatever the method
    assert (tmp_path / "runs" / "grid" / "sr_scale4-reference.json").exists()
    seconds = {e["name"]: build.entry_seconds(e, zoo) for e in entries}
    assert seconds[covered] == 0.0 and seconds["select:sr:ra"] == record["seconds"] > 0
    assert all(seconds[n] > 0 for n in trained)
    assert record["chosen"] in (0.01, 1.0) and len(record["candidates"]) == 2
    assert record["split"] == "val"
    ra = json.loads((zoo / "sr-ra.json").read_text())
    assert ra["lambda"] == record["chosen"] and ra["training"]["init"].endswith("sr-base")
    transfer = json.loads((zoo / "sr-ra-src-vgg11-bn.json").read_text())
    assert transfer["lambda"] == record["chosen"] and transfer["source"] == "vgg11-bn"
    assert not (zoo / "sr-base.json").exists() and (tmp_path / "bases" / "sr-base.json").exists()
    assert build_zoo(folder=zoo, state_dir=str(tmp_path / "runs"), progress=False,
                     recipe=entries) == []

    # a selection run again reuses its reference and candidates: nothing is trained
    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(selection, "train_processor", no_training)
    select = next(e for e in entries if e["verb"] == "select")
    build.run_entry(select, zoo, str(tmp_path / "runs"), progress=False)


def test_dependencies_and_skipping_when_nobody_builds_them(tmp_path, capsys, monkeypatch):
    from analysis.training.recipe import dependencies

    entry = next(e for e in RECIPE if e["name"] == "sr-ra-src-vgg11-bn")
    assert dependencies(entry) == ["vgg11-bn", "sr-base", "select:sr:ra"]
    monkeypatch.setattr(recipe, "BASES", str(tmp_path / "no-bases"))
    entries = processor_entries("sr")
    trained = build_zoo(only=["sr-plain"], folder=tmp_path, state_dir=str(tmp_path),
                        progress=False, recipe=entries)
    assert trained == []
    assert "sr-plain needs sr-base first" in capsys.readouterr().err


def test_a_harder_setting_is_one_more_tasks_entry(monkeypatch):
    from analysis.training.recipe import dependencies

    monkeypatch.setitem(recipe.TASKS, "denoise-sigma0.5",
                        {"spec": "denoise:sigma=0.5", "arch_kwargs": {"channels": 8, "blocks": 1},
                         "base_epochs": 1, "epochs": 1})
    entries = {e["name"]: e for e in processor_entries("denoise-sigma0.5")}
    assert entries["denoise-sigma0.5-base"]["args"]["task"] == "denoise:sigma=0.5"
    ra = entries["denoise-sigma0.5-ra"]
    assert ra["args"]["task"] == "denoise:sigma=0.5"
    assert dependencies(ra) == ["resnet20", "denoise-sigma0.5-base", "select:denoise-sigma0.5:ra"]
    assert all(d in entries or d == "resnet20" for d in dependencies(ra))


def test_the_entries_beyond_the_zoo_budget_keep_their_weights_outside():
    """RA with transformer on corruption cells and its processors' seed replicates, and the
    recognizer side's later entries (the ablation, corrupt-seen, vgg11-bn) are marked outside;
    the corruption cells' plain, RA and unsupervised RA processors, the other seed replicates
    (the recognizer side's included) and the zoo's own entries stay in the zoo."""
    from analysis.training import recipe

    outside = {e["name"] for e in recipe.RECIPE if e.get("outside")}
    corruption = {e["name"]: e for e in recipe.corruption_entries()}
    assert {n for n in corruption if n.endswith("-ra-transformer")} <= outside
    assert not {n for n in corruption if not n.endswith("-ra-transformer")} & outside
    later = recipe.recognizer_corruption_entries() + recipe.recognizer_architecture_entries()
    assert {e["name"] for e in later} | {"resnet20-qualnet-trained-decoder"} <= outside
    assert not {e["name"] for e in recipe.recognizer_seed_entries()} & outside
    assert not outside & {e["name"] for e in recipe._ZOO if e["name"] !=
                          "resnet20-qualnet-trained-decoder"}
    replicates = {e["name"] for e in recipe.seed_entries(recipe._ZOO)}
    assert {n for n in replicates if "-ra-transformer-seed" in n} <= outside
    assert len({n for n in replicates if "-ra-transformer-seed" in n}) == 3 * len(recipe.SEEDS)
    assert not {n for n in replicates if "-ra-transformer-seed" not in n} & outside


def test_recognizer_seed_replicates_change_only_the_seed():
    from analysis.training import recipe

    originals = {e["name"]: e for e in recipe.RECOGNIZER_ENTRIES}
    replicates = recipe.recognizer_seed_entries()
    assert len(replicates) == 2 * 5 and {e["args"]["seed"] for e in replicates} == {1, 2}
    for e in replicates:
        base = originals[e["seed_of"]]
        assert e["name"] == f"{base['name']}-seed{e['args']['seed']}"
        assert {k: v for k, v in e["args"].items() if k != "seed"} == base["args"]
        assert e["folder"].endswith("recognizers/seeds") and not e.get("outside")


def test_an_outside_entry_trains_into_the_store_and_again_where_the_store_lacks_it(
        tmp_path, monkeypatch):
    """build-zoo moves an outside entry's weights to the store and keeps its card; on a machine
    whose store lacks them (a fresh clone) it trains the entry again over the card."""
    from analysis.zoo.checkpoints import load_checkpoint

    store = tmp_path / "store"
    monkeypatch.setenv("RA_WEIGHTS_STORE", str(store))
    monkeypatch.setenv("RA_RESULTS", str(tmp_path))
    monkeypatch.setattr(recipe, "BASES", str(tmp_path / "bases"))
    monkeypatch.setattr(recipe, "TASKS", {"sr": {"arch_kwargs": {"channels": 8, "blocks": 1},
                                                 "base_epochs": 1, "epochs": 1}})
    base, plain = [e for e in processor_entries("sr") if e["name"] in ("sr-base", "sr-plain")]
    entries = [base, {**plain, "outside": True}]
    for e in entries:
        e["dataset"] = SYNTH
        e["args"]["max_steps"] = 2
    zoo = tmp_path / "zoo"
    assert build_zoo(folder=zoo, state_dir=str(tmp_path / "runs"), progress=False,
                     recipe=entries) == ["sr-base", "sr-plain"]
    card = json.loads((zoo / "sr-plain.json").read_text())
    assert card["weights"]["store"] == "outside" and not (zoo / "sr-plain.safetensors").exists()
    assert (store / f"{card['weights']['sha256']}.safetensors").is_file()
    assert load_checkpoint(zoo / "sr-plain")[1]["name"] == "sr-plain"
    for path in store.iterdir():
        path.unlink()
    assert build_zoo(folder=zoo, state_dir=str(tmp_path / "runs2"), progress=False,
                     recipe=entries) == ["sr-plain"]
    again = json.loads((zoo / "sr-plain.json").read_text())
    assert again["weights"]["store"] == "outside"
    assert (store / f"{again['weights']['sha256']}.safetensors").is_file()
