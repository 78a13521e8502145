"""The CLI's one vocabulary over the whole parser tree: every option's help states its default,
one flag per concept, comma lists, the verbs grouped in the help, and every old spelling still
parsing (with its one-line note) as the new one; the boundary defaults come from one place."""

import argparse
import inspect
import re
import shlex

import pytest

from analysis.analyses import boundary_defaults as bd
from analysis.cli.main import GROUPS, VERB_MODULES, build_parser, modules_for, verb_help
from analysis.cli.vocabulary import OLD_VERBS, CommaList, HelpFormatter, old_spellings, states_default
from analysis.config import PROJECT_ROOT

# concept -> the one flag every verb uses for it
CONCEPTS = {
    "the one classifier judged or judging": "--classifier",
    "several classifiers": "--classifiers",
    "the first N test images": "--first",
    "a seeded class-stratified sample of N images": "--sample",
    "the first N validation images": "--val-first",
    "PGD-L2 radius": "--pgd-eps",
    "PGD steps": "--pgd-steps",
    "uniform boundary-scan steps": "--scan-steps",
    "one task spec": "--task",
    "several task specs": "--tasks",
    "several processors": "--processors",
    "several metrics": "--metrics",
    "write measured figures into the cards": "--update-cards",
    "map half-width, absolute [0,1]-pixel L2": "--extent-l2",
    "map half-width, multiple of ||x_RA - x||": "--extent-ra",
}
# old spelling -> the concept's flag it became (hidden aliases; never a visible option)
OLD_OPTIONS = {
    "--limit": ("--first", "--sample"), "--quality-limit": ("--quality-first",),
    "--val-limit": ("--val-first",), "--n": ("--sample",),
    "--recognizer": ("--classifier",), "--vanilla": ("--classifier",),
    "--evaluators": ("--classifiers",), "--source": ("--classifier",),
    "--eps": ("--pgd-eps",), "--adv-eps": ("--pgd-eps",),
    "--steps": ("--pgd-steps", "--scan-steps"), "--adv-steps": ("--pgd-steps",),
    "--update-card": ("--update-cards",), "--extent": ("--extent-l2",),
    "--degradations": ("--tasks",), "--degradation": ("--task",), "--methods": ("--processors",),
    "--task": ("--tasks",),      # reproduce's repeatable --task (a concept flag elsewhere)
}
# flags that name a role, and the only verbs where that role exists
ROLES = {"--source": {"bd", "bd-referee"}, "--target": {"bd", "bd-referee", "figure"},
         "--teacher": {"train-classifier"},
         "--decoder": {"train-classifier"}, "--processor": {"train-classifier"},
         "--plain": {"bd"}, "--ra": {"bd"}}


def walk(parser, path=()):
    """(verb path, parser) of every parser in the tree, sub-parsers of sub-parsers included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, (*path, name))


PARSERS = list(walk(build_parser()))
VERBS = [(path, p) for path, p in PARSERS if path]


def visible_options(parser):
    return [a for a in parser._actions if a.option_strings and a.help is not argparse.SUPPRESS
            and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


def test_the_tree_holds_every_verb_and_list_what():
    names = {" ".join(path) for path, _ in VERBS}
    assert {"bd", "tsne", "reproduce", "recognizer-side", "list metrics", "list checkpoints",
            "survey create", "figure", "app"} <= names
    assert not names & set(OLD_VERBS)


@pytest.mark.parametrize("path,parser", VERBS, ids=[" ".join(p) for p, _ in VERBS])
def test_every_option_has_help_that_states_its_default(path, parser):
    formatter = HelpFormatter(parser.prog)
    for action in visible_options(parser):
        flag = action.option_strings[0]
        assert action.help, (path, flag)
        if action.nargs == 0 or action.required:
            continue
        assert states_default(formatter._get_help_string(action)), (path, flag, action.help)


def test_help_appends_the_default_value():
    text = " ".join(build_parser()._subparsers._group_actions[0].choices["bd"].format_help()
                    .split())
    assert f"(default: {bd.MAX_DIST_RULE}" in text and f"(default: {bd.SCAN_STEPS})" in text
    assert "--steps" not in text and "--limit" not in text       # the old spellings are hidden


def test_one_flag_per_concept():
    flags = {flag: [] for flag in CONCEPTS.values()}
    for path, parser in VERBS:
        for action in visible_options(parser):
            for flag in action.option_strings:
                assert (flag not in OLD_OPTIONS or flag in ROLES
                        or flag in CONCEPTS.values()), (path, flag)
                if flag in ROLES:
                    assert path[0] in ROLES[flag], (path, flag, "a role flag outside its verb")
                if flag in flags:
                    flags[flag].append(path)
    for concept, flag in CONCEPTS.items():
        assert flags[flag], f"no verb uses {flag} ({concept})"


def test_lists_are_comma_separated():
    """No option takes space-separated or repeated values except as the older form of a comma
    list (CommaList, which notes it)."""
    for path, parser in VERBS:
        for action in visible_options(parser):
            assert not isinstance(action, (argparse._AppendAction, argparse._ExtendAction)), path
            if action.nargs in ("*", "+"):
                assert isinstance(action, CommaList), (path, action.option_strings)


def test_every_old_option_spelling_is_a_hidden_alias_of_its_concept_flag():
    seen = set()
    for path, parser in VERBS:
        for old, new in old_spellings(parser).items():
            assert new in OLD_OPTIONS[old], (path, old, new)
            assert not re.search(re.escape(old) + r"\b(?!-)", parser.format_help()), (path, old)
            seen.add(old)
    assert seen == set(OLD_OPTIONS)


# (old command line, the same in the new vocabulary, the notes it prints)
RENAMES = [
    ("boundaries --task sr --source a --target b --steps 5 --limit 8",
     "bd --task sr --source a --target b --scan-steps 5 --sample 8",
     ["'boundaries' is now 'bd'", "'--steps' is now '--scan-steps'", "'--limit' is now '--sample'"]),
    ("features --task sr --n 50", "tsne --task sr --sample 50",
     ["'features' is now 'tsne'", "'--n' is now '--sample'"]),
    ("results --task sr --limit 10", "reproduce --tasks sr --sample 10",
     ["'results' is now 'reproduce'", "'--task' is now '--tasks'"]),
    ("recognizers --vanilla r --degradations sr,jpeg --limit 4",
     "recognizer-side --classifier r --tasks sr,jpeg --first 4",
     ["'recognizers' is now 'recognizer-side'", "'--vanilla' is now '--classifier'",
      "'--degradations' is now '--tasks'", "'--limit' is now '--first'"]),
    ("metrics --json", "list metrics --json", ["'metrics' is now 'list metrics'"]),
    ("zoo --no-collections", "list checkpoints --no-collections",
     ["'zoo' is now 'list checkpoints'"]),
    ("robustness --classifier c --eps 0.5 --steps 3 --limit 16 --update-card",
     "robustness --classifier c --pgd-eps 0.5 --pgd-steps 3 --first 16 --update-cards",
     ["'--eps' is now '--pgd-eps'", "'--update-card' is now '--update-cards'"]),
    ("quality --task sr --limit 50", "quality --task sr --first 50", ["'--limit' is now '--first'"]),
    ("loss-grid --evaluators a,b --limit 9 --quality-limit 3",
     "loss-grid --classifiers a,b --first 9 --quality-first 3",
     ["'--evaluators' is now '--classifiers'", "'--quality-limit' is now '--quality-first'"]),
    ("evaluate --limit 10", "evaluate --sample 10", ["'--limit' is now '--sample'"]),
    ("float16-check --source r --limit 5", "float16-check --classifier r --sample 5",
     ["'--source' is now '--classifier'"]),
    ("train-classifier --arch resnet20 --out x --adv-eps 0.5 --adv-steps 3 --limit 100 "
     "--val-limit 50 --degradation mix --arch-kw width=8",
     "train-classifier --arch resnet20 --out x --pgd-eps 0.5 --pgd-steps 3 --sample 100 "
     "--val-first 50 --task mix --arch-kw width=8",
     ["'--adv-eps' is now '--pgd-eps'", "'--adv-steps' is now '--pgd-steps'",
      "'--val-limit' is now '--val-first'", "'--degradation' is now '--task'"]),
    ("train-processor --task sr --method ra --recognizer r --out x --layers a,b",
     "train-processor --task sr --method ra --classifier r --out x --layers a,b",
     ["'--recognizer' is now '--classifier'"]),
    ("figure boundary-maps --out x --extent 3", "figure boundary-maps --out x --extent-l2 3",
     ["'--extent' is now '--extent-l2'"]),
    ("survey create --name s --methods a,b", "survey create --name s --processors a,b",
     ["'--methods' is now '--processors'"]),
    ("build-zoo --only 'a*' 'b*'", "build-zoo --only 'a*,b*'",
     ["write --only as one comma-separated list: --only a*,b*"]),
]


def parsed(line: str) -> dict:
    args = vars(build_parser().parse_args(shlex.split(line)))
    args.pop("func", None)
    return args


@pytest.mark.parametrize("old,new,notes", RENAMES, ids=[r[0].split()[0] for r in RENAMES])
def test_old_spellings_parse_as_the_new_ones_with_a_note(old, new, notes, capsys):
    assert parsed(old) == parsed(new)
    err = capsys.readouterr().err
    for text in notes:
        assert f"note: {text}" in err, err
    assert all(line.startswith("note: ") for line in err.splitlines())


def test_the_new_spellings_print_no_note(capsys):
    for _, new, _ in RENAMES:
        parsed(new)
    assert capsys.readouterr().err == ""


def shipped_commands() -> list[str]:
    found = set()
    for path in sorted((PROJECT_ROOT / "results").rglob("*.json")):
        found |= set(re.findall(r'"command": "([^"]+)"', path.read_text()))
    return sorted(c for c in found if "python -m analysis" in c)


def test_the_shipped_provenance_commands_still_parse(capsys):
    commands = shipped_commands()
    assert any(" bd " in c for c in commands) and any(" results" in c for c in commands)
    for command in commands:
        words = shlex.split(command.replace("'python -m analysis'", "python -m analysis"))
        assert words[:3] == ["python", "-m", "analysis"], command
        assert build_parser().parse_args(words[3:]).func, command


def test_the_help_groups_every_verb_once_with_examples_that_parse(capsys):
    parser = build_parser()
    shown = [verb for _, verbs, _ in GROUPS for verb in verbs]
    top = {path[0] for path, _ in VERBS}
    assert sorted(shown) == sorted(top)
    assert [title for title, _, _ in GROUPS] == ["explore", "train", "measure", "figures",
                                                 "survey", "maintenance"]
    text = parser.format_help()
    for title, _, examples in GROUPS:
        assert f"\n{title}:\n" in text
        assert 3 <= len(examples) <= 4, title
        for example in examples:
            assert f"python -m analysis {example}" in text
            words = shlex.split(example)
            words = words[:words.index(">")] if ">" in words else words
            assert parser.parse_args(words).verb == words[0]
    assert capsys.readouterr().err == ""


def test_each_verb_is_registered_by_the_module_the_table_names():
    """VERB_MODULES is what each module's register() adds, every verb once; a command line
    builds the parser of its verb's module only, and parses as with the full parser."""
    import importlib

    for name, verbs in VERB_MODULES.items():
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"analysis.cli.{name}").register(sub)
        assert tuple(verb_help(sub)) == verbs, name
    every = [v for verbs in VERB_MODULES.values() for v in verbs]
    assert sorted(every) == sorted(set(every)) == sorted(v for _, vs, _ in GROUPS for v in vs)
    assert modules_for(["bd", "--task", "sr"]) == ["geometry"]
    assert modules_for(["--debug", "zoo"]) == ["catalogue"]              # an old verb
    assert modules_for(["evalute"]) == modules_for([]) == list(VERB_MODULES)
    line = ["bd", "--task", "sr", "--target", "densenet-bc", "--sample", "8"]
    assert vars(build_parser(line).parse_args(line)) == vars(build_parser().parse_args(line))


def test_the_boundary_defaults_come_from_one_place():
    from analysis.analyses.boundary_search import boundary_distance
    from analysis.analyses.boundary_table import collect_records
    from analysis.explore.plane import extent_for, image_boundary_distances
    from analysis.reporting.paper import FigureOptions
    from analysis.reporting.paper.shipped import planned

    verb = build_parser().parse_args(["bd", "--task", "sr"])
    assert (verb.max_dist, verb.tol, verb.scan_steps, verb.schedule, verb.first_step,
            verb.growth, verb.sample) == (bd.MAX_DIST, bd.TOL, bd.SCAN_STEPS, bd.SCHEDULE,
                                          bd.FIRST_STEP, bd.GROWTH, bd.IMAGES)
    for function in (boundary_distance, collect_records):
        params = inspect.signature(function).parameters
        assert (params["max_dist"].default, params["steps"].default, params["tol"].default,
                params["growth"].default) == (bd.MAX_DIST, bd.SCAN_STEPS, bd.TOL, bd.GROWTH)
    assert inspect.signature(image_boundary_distances).parameters["max_dist"].default == bd.MAX_DIST
    # the nearest boundary and the perceptual units: the verb, the table and the API alike
    import analysis as ra

    assert (verb.nearest, verb.attack, verb.attack_steps, verb.overshoot, verb.perceptual) == (
        bd.NEAREST, bd.NEAREST_ATTACK, bd.NEAREST_STEPS, bd.OVERSHOOT, bd.PERCEPTUAL)
    params = inspect.signature(collect_records).parameters
    assert (params["nearest"].default, params["attack"].default, params["attack_steps"].default,
            params["perceptual"].default) == (bd.NEAREST, bd.NEAREST_ATTACK, bd.NEAREST_STEPS,
                                              bd.PERCEPTUAL)
    params = inspect.signature(ra.nearest_boundary).parameters
    assert (params["attack"].default, params["steps"].default, params["tol"].default) == (
        bd.NEAREST_ATTACK, bd.NEAREST_STEPS, bd.TOL)
    figure = build_parser().parse_args(["figure", "boundary-maps", "--out", "x"])
    options = FigureOptions()
    assert (figure.extent_l2, figure.resolution, figure.extent_ra) == (
        options.extent, options.resolution, options.extent_ra) == (
        None, bd.FIGURE_RESOLUTION, None)
    assert options.extent_multiple() == bd.EXTENT_MULTIPLE      # the app's multiple
    # the shipped boundary-maps figures were drawn with FigureOptions' defaults
    fields = [f for kind, f in planned(PROJECT_ROOT / "results") if kind == "boundary-maps"]
    assert fields and all(set(f) == {"task"} for f in fields)
    import pandas as pd

    rows = pd.read_csv(PROJECT_ROOT / "results" / "figures" / "boundary-maps_sr_scale4.csv")
    grid = rows[(rows.panel == "map") & (rows.classifier == rows.classifier.iloc[0])
                & (rows["index"] == rows["index"].iloc[0])]
    assert grid.u.nunique() == grid.v.nunique() == bd.FIGURE_RESOLUTION
    star = rows[(rows.panel == "RA output") & (rows.classifier == rows.classifier.iloc[0])
                & (rows["index"] == rows["index"].iloc[0])].u.iloc[0]
    half = extent_for(bd.EXTENT_MULTIPLE, star)
    assert grid.u.max() == pytest.approx(half) and grid.u.min() == pytest.approx(-half)
