"""``python -m analysis <verb>`` (the ``ra-explorer`` command of an installed copy): the parser
is the verb modules' registrations put together, its help the verbs by section (:data:`GROUPS`)
with example lines; ``--version`` prints the project's version. Names and the old spellings
that still run follow :mod:`analysis.cli.vocabulary`.

Each verb module (``training``, ``measure``, ``geometry``, ``figure``, ``survey``, ``catalogue``,
``app``) defines its command functions next to a ``register(subparsers)`` that adds its
sub-parsers; shared option groups live in :mod:`analysis.cli.options`. A line that names a verb
imports and registers that verb's module only (:data:`VERB_MODULES`): the others' imports
(torchvision's detection models, SciPy's statistics, the figure builders) would cost seconds on
every command. An error is printed as one line, never a traceback
(:func:`analysis.cli.errors.print_error`): exit code 2 for the user's errors, 1 for anything
else; ``--debug`` (anywhere on the line) shows the traceback instead. Options are checked where
they are parsed (``type=`` validators of :mod:`analysis.cli.validators`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import textwrap

from ..config import version
from ..outputs.provenance import cli_command
from .errors import print_error
from .vocabulary import OLD_VERBS, OneLineParser, VerbParser

# {module of analysis.cli: the verbs its register() adds}, in the order of the full help
VERB_MODULES = {
    "training": ("train-classifier", "train-processor", "train-detector", "import-weights",
                 "build-zoo"),
    "measure": ("evaluate", "reproduce", "quality", "agreement", "margins", "loss-grid",
                "recognizer-side", "corruption-grid", "robustness", "detection-transfer",
                "category-transfer", "architecture-transfer", "seeds", "randomized",
                "corruption-processors", "float16-check"),
    "geometry": ("bd", "bd-referee", "tsne"),
    "figure": ("figure",),
    "survey": ("survey",),
    "catalogue": ("list",),
    "app": ("app",),
}

PROG = "python -m analysis"
# the sections of the top-level help, in order: (title, verbs, example command lines)
GROUPS = (
    ("explore", ("app",),
     ("app", "app --port 8502", "app --address 0.0.0.0")),
    ("train", ("train-classifier", "train-processor", "train-detector", "build-zoo",
               "import-weights"),
     ("build-zoo --dry-run",
      "train-classifier --arch resnet20 --out runs/resnet20",
      "train-processor --task sr --method ra --classifier resnet20 --lambda 0.1 --out runs/sr-ra")),
    ("measure", ("evaluate", "quality", "agreement", "margins", "loss-grid", "recognizer-side",
                 "corruption-grid", "robustness", "bd", "bd-referee", "tsne", "detection-transfer",
                 "category-transfer", "architecture-transfer", "seeds", "randomized",
                 "corruption-processors"),
     ("evaluate --task sr --sample 500",
      "quality --task jpeg --metrics psnr,ssim --first 200",
      "bd --task sr --source resnet20 --target densenet-bc",
      "tsne --task sr --classifier resnet20")),
    ("figures", ("figure",),
     ("figure boundary-maps --task sr --out boundary-maps.pdf",
      "figure examples --task jpeg --indices 0,1,2 --out examples.png",
      "figure bd,tsne,quality --out figures/")),
    ("survey", ("survey",),
     ("survey create --name pilot --processors sr-plain,sr-ra",
      "survey summary --name pilot",
      "survey export --name pilot > pilot.csv")),
    ("maintenance", ("reproduce", "float16-check", "list"),
     ("reproduce", "list checkpoints", "list metrics --json")),
)


def verb_help(sub) -> dict[str, str]:
    """{verb: its one-line help} of the registered verbs (hidden ones have none)."""
    return {a.dest: a.help for a in sub._choices_actions}


def grouped_help(helps: dict[str, str]) -> str:
    """The verbs by section, each section with its example lines."""
    width = max(len(v) for v in helps) + 2
    lines = []
    for title, verbs, examples in GROUPS:
        lines.append(f"{title}:")
        for verb in verbs:
            lines.append(textwrap.fill(helps[verb], 100, initial_indent=f"  {verb:<{width}}",
                                       subsequent_indent=" " * (width + 2)))
        lines += [f"    e.g. {PROG} {e}" for e in examples]
        lines.append("")
    lines.append(f"'{PROG} VERB --help' lists a verb's options, each with its default.")
    return "\n".join(lines)


def modules_for(argv: list[str] | None) -> list[str]:
    """The verb modules a command line needs: its verb's (an old spelling counts as the new
    one), or every module when it names no known verb (the top-level help, a misspelt verb)."""
    word = next((a for a in argv or [] if not a.startswith("-")), None)
    verb = OLD_VERBS[word][0] if word in OLD_VERBS else word
    found = [name for name, verbs in VERB_MODULES.items() if verb in verbs]
    return found or list(VERB_MODULES)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The CLI's parser: every verb, or with ``argv`` only what that command line needs
    (:func:`modules_for`)."""
    parser = VerbParser(prog=PROG, usage=f"{PROG} [-h] [--version] [--debug] VERB [options]",
                        description="RA Explorer: train and analyse recognition-aware image "
                                    "processing, browse it in an app, run a survey.",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an error (also accepted after the verb)")
    parser.add_argument("--version", action="version", version=f"ra-explorer {version()}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB", prog=PROG,
                                help=argparse.SUPPRESS, parser_class=OneLineParser)
    modules = modules_for(argv)
    for name in modules:
        importlib.import_module(f"{__package__}.{name}").register(sub)
    if len(modules) == len(VERB_MODULES):
        parser.epilog = grouped_help(verb_help(sub))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb; an error becomes one line on stderr (see the module docstring)."""
    from ..device import retain_freed_memory

    retain_freed_memory()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    verb_args = [a for a in argv if a != "--debug"]
    args = build_parser(verb_args).parse_args(verb_args)
    old_root = os.environ.get("RA_DATA_ROOT")
    old_execution = os.environ.get("RA_EXECUTION")
    if getattr(args, "data_root", None):
        # one setting for every loader this verb reaches (analysis.config.data_root); put back
        # when the verb ends, so an in-process caller's next verb does not inherit it
        os.environ["RA_DATA_ROOT"] = str(args.data_root)
    if getattr(args, "execution", None):
        # the same for the execution policy of every classifier forward the verb runs
        os.environ["RA_EXECUTION"] = args.execution

    cli_command(verb_args)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if debug:
            raise
        if getattr(args, "resume", None) is False:     # a verb that keeps what it finished
            print("error: interrupted; what was finished is kept: run the same command with "
                  "--resume to go on.", file=sys.stderr)
        else:
            print("error: interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        return print_error(exc)
    finally:
        cli_command(None)
        if old_root is None:
            os.environ.pop("RA_DATA_ROOT", None)
        else:
            os.environ["RA_DATA_ROOT"] = old_root
        if old_execution is None:
            os.environ.pop("RA_EXECUTION", None)
        else:
            os.environ["RA_EXECUTION"] = old_execution
