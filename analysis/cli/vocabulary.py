"""The CLI's one vocabulary: the parser class every verb uses (one-line errors, help that states
each option's default), comma-separated list options, and the older spellings of verbs and
options, kept as hidden aliases that print one ``note:`` line on stderr and run as the new one
(so scripts and the provenance commands of shipped result files still replay).

Option names, one per concept (``tests/cli/test_vocabulary.py`` holds the table):
``--classifier NAME`` / ``--classifiers A,B`` for the classifier(s) that judge or are judged
(the one attacked, the one in a loss, the ones whose accuracy or maps are shown);
``--first N`` (the first N test images) and ``--sample N`` (a seeded class-stratified sample
of N); PGD's ``--pgd-eps`` / ``--pgd-steps``; ``--scan-steps`` for the uniform boundary scan;
``--task`` / ``--tasks`` and ``--processors`` for task specs and processors; every list
comma-separated (``--only a,b``); ``--extent-l2`` (absolute [0,1]-pixel L2) and
``--extent-ra`` (a multiple of ||x_RA - x||) for a map's half-width.

Role names stay where two networks play different parts in one measurement, so that one
``--classifier`` could not say which is which: ``--source`` / ``--target`` (Rs and Rt of a BD
pair: ``bd``, and the pair of ``figure bd``), ``--plain`` / ``--ra`` (the two processors of
``bd``), ``--teacher`` / ``--decoder`` / ``--processor`` (the frozen networks beside the
classifier trained by a recognizer-side method).
"""

from __future__ import annotations

import argparse
import re
import sys

# old verb -> the words that replace it
OLD_VERBS = {
    "boundaries": ("bd",),
    "features": ("tsne",),
    "results": ("reproduce",),
    "recognizers": ("recognizer-side",),
    "metrics": ("list", "metrics"),
    "zoo": ("list", "checkpoints"),
}


def note(old: str, new: str) -> None:
    """The one line an old spelling prints on stderr."""
    print(f"note: '{old}' is now '{new}'", file=sys.stderr)


def shown(value) -> str:
    """A default as the help prints it: lists comma-separated, numbers as typed."""
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


# how a help text states a default in words: "(default: ...)", "(default 1)", "l2 (default)",
# "...; default double"
_STATES_DEFAULT = re.compile(r"\(default\b|\bdefault:|; default\b")


def states_default(text: str) -> bool:
    """Whether a help text states its option's default."""
    return bool(_STATES_DEFAULT.search(text or ""))


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with ``(default: X)`` unless it states its default in words
    (:func:`states_default`), is a flag or is required; a comma list shows as ``A,B``."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (text is argparse.SUPPRESS or states_default(text) or not action.option_strings
                or action.required or action.nargs == 0
                or action.default in (None, argparse.SUPPRESS)):
            return text
        return f"{text} (default: {shown(action.default).replace('%', '%%')})"

    def _format_args(self, action, default_metavar):
        if isinstance(action, CommaList):
            return self._metavar_formatter(action, default_metavar)(1)[0]
        return super()._format_args(action, default_metavar)


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (``--help`` still shows the usage), with
    :class:`HelpFormatter` and no abbreviated option names (every name is exact)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message.rstrip('.')} (see '{self.prog} --help').\n")


class VerbParser(OneLineParser):
    """The top-level parser: an old verb (:data:`OLD_VERBS`) prints its note and parses as the
    new one."""

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        for i, word in enumerate(args):
            if not word.startswith("-"):
                if word in OLD_VERBS:
                    note(word, " ".join(OLD_VERBS[word]))
                    args[i:i + 1] = OLD_VERBS[word]
                break
        return super().parse_known_args(args, namespace)


def split_list(text: str) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``."""
    return [t.strip() for t in text.split(",") if t.strip()]


def split_specs(text: str) -> list[str]:
    """A comma list of spec strings whose own options are comma-separated too:
    ``"sr,denoise:sigma=0.2,clip=false,jpeg"`` -> ``["sr", "denoise:sigma=0.2,clip=false",
    "jpeg"]`` (an item with ``=`` and no ``:`` continues the spec before it)."""
    out: list[str] = []
    for item in split_list(text):
        if out and "=" in item and ":" not in item:
            out[-1] += "," + item
        else:
            out.append(item)
    return out


def list_of(convert=str, split=split_list):
    """A ``type=`` for a comma-separated list, each item checked by ``convert``."""
    def parse(text: str) -> list:
        return [convert(item) for item in split(text)]
    parse.__name__ = f"list of {getattr(convert, '__name__', 'items')}"
    return parse


class CommaList(argparse.Action):
    """A comma-separated list (its ``type`` returns a list) that still takes the older forms,
    several values after the option or the option repeated, with a note: the items add up."""

    def __init__(self, option_strings, dest, **kwargs):
        kwargs["nargs"] = "+"
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        items = [item for value in values for item in value]
        previous = getattr(namespace, self.dest, None)
        repeated = previous is not None and previous is not self.default
        if len(values) > 1 or repeated:
            items = (list(previous) if repeated else []) + items
            flag = self.option_strings[0]
            print(f"note: write {flag} as one comma-separated list: {flag} {','.join(map(str, items))}",
                  file=sys.stderr)
        setattr(namespace, self.dest, items)


class _Renamed(argparse.Action):
    """A hidden old spelling: prints its note and acts as ``target`` does."""

    def __init__(self, option_strings, dest, target=None, **kwargs):
        super().__init__(option_strings, dest, nargs=target.nargs, const=target.const,
                         type=target.type, choices=target.choices, default=None,
                         metavar=target.metavar, help=argparse.SUPPRESS)   # the default: target's
        self.target = target

    def __call__(self, parser, namespace, values, option_string=None):
        new = self.target.option_strings[0]
        note(option_string, new)
        self.target(parser, namespace, values, new)


def renamed(parser: argparse.ArgumentParser, **old_to_new: str) -> None:
    """Accept each old option spelling as a hidden alias of the new one, e.g.
    ``renamed(p, limit="--first")`` for ``--limit``; call after the new option is added."""
    for old, new in old_to_new.items():
        target = parser._option_string_actions[new]
        parser.add_argument("--" + old.replace("_", "-"), dest=target.dest, action=_Renamed,
                            target=target)


def old_spellings(parser: argparse.ArgumentParser) -> dict[str, str]:
    """{old option: new option} of ``parser``'s hidden aliases (for the tests and the docs)."""
    return {a.option_strings[0]: a.target.option_strings[0] for a in parser._actions
            if isinstance(a, _Renamed)}
