"""Option groups shared by the verbs, defined once (argparse parent parsers), and their readers.

A verb asks for the groups it needs: ``sub.add_parser(name, parents=[DATASET(), CHECKPOINTS()])``.
Option names follow :mod:`analysis.cli.vocabulary`.
Defaults that depend on the environment (dataset, checkpoint folder, results folder) stay None
here and are resolved by :mod:`analysis.config` at run time, so that the CLI and the app honour
the same ``RA_DATASET`` / ``RA_CHECKPOINTS`` / ``RA_RESULTS``.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import RAExplorerError
from ..outputs.run_folders import destination
from ..specs import parse_value
from .validators import (
    dataset_spec,
    device_name,
    existing_dir,
    non_negative_int,
    sample_limit,
)
from .vocabulary import renamed, shown


def _group(build) -> callable:
    def make() -> argparse.ArgumentParser:
        p = argparse.ArgumentParser(add_help=False)
        build(p)
        return p
    return make


DATASET = _group(lambda p: (
    p.add_argument("--dataset", type=dataset_spec, default=None,
                   help="dataset spec (see 'list datasets'; default: $RA_DATASET or fashion-mnist)"),
    p.add_argument("--data-root", default=None,
                   help="folder holding the dataset files (default: $RA_DATA_ROOT, else the "
                        "dataset's own place)")))
CHECKPOINTS = _group(lambda p: p.add_argument(
    "--checkpoints", type=existing_dir, default=None,
    help="checkpoint folder (default: $RA_CHECKPOINTS or checkpoints/)"))
def _execution(text: str) -> str:
    import argparse

    from ..pipeline.execution import execution_spec

    try:
        return execution_spec(text)
    except RAExplorerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _device(p) -> None:
    p.add_argument("--device", type=device_name, default=None,
                   help="cpu, cuda, cuda:N (default: cuda if present)")


DEVICE_ONLY = _group(_device)      # a verb whose forwards run eager in float32 whatever the policy
DEVICE = _group(lambda p: (
    _device(p),
    p.add_argument("--execution", type=_execution, default=None, metavar="POLICY",
                   help="how classifier forwards run: auto (default: the fastest exact backend, "
                        "measured once per model), eager (off), or e.g. auto,-onnxruntime,"
                        "+compile (default: $RA_EXECUTION or auto)")))
SEED = _group(lambda p: p.add_argument("--seed", type=non_negative_int, default=0,
                                       help="seed of every random choice"))
PROGRESS = _group(lambda p: p.add_argument("--no-progress", action="store_true",
                                           help="no progress bars on stderr"))
RESUME = _group(lambda p: p.add_argument(
    "--resume", action="store_true",
    help="go on from the batches an interrupted run of the same command finished (kept under "
         "runs/partial/ after every batch; removed when a run completes)"))
JSON = _group(lambda p: p.add_argument("--json", action="store_true", help="JSON on stdout"))
SAMPLE = _group(lambda p: (
    p.add_argument("--sample", type=sample_limit, default=None, metavar="N",
                   help="a seeded class-stratified sample of N test images (default: every one)"),
    renamed(p, limit="--sample")))
SAVE = _group(lambda p: (
    p.add_argument("--out", default=None,
                   help="folder for the result files (default: results/ for the full protocol, "
                        "else runs/<verb>/<time stamp>/)"),
    p.add_argument("--no-save", action="store_true", help="do not write the result files")))


def analysis_groups(execution: bool = True) -> list[argparse.ArgumentParser]:
    """The groups of a verb that measures on a dataset and writes a copy of its result
    (``execution``: with ``--execution``, for a verb whose classifier forwards honour it)."""
    return [DATASET(), CHECKPOINTS(), DEVICE() if execution else DEVICE_ONLY(), SAVE(), JSON(),
            PROGRESS()]


def key_values(items: list[str] | None) -> dict:
    """``["channels=32", "blocks=6"]`` -> ``{"channels": 32, "blocks": 6}``."""
    out = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise RAExplorerError(f"Cannot read {item!r}; write architecture options as key=value.")
        out[key] = parse_value(value)
    return out


def protocol(parser: argparse.ArgumentParser, *dests: str) -> None:
    """Declare ``parser``'s protocol options: the run is the full protocol (and may update
    results/) only while each of them keeps the default it has now. Call after adding them."""
    parser.set_defaults(protocol_defaults={d: parser.get_default(d) for d in dests})


def departures(args) -> list[str]:
    """The protocol options of ``args`` that differ from the full protocol, as ``--name value``."""
    out = []
    for dest, default in (getattr(args, "protocol_defaults", None) or {}).items():
        value = getattr(args, dest, default)
        if value != default:
            flag = "--" + dest.replace("_", "-")
            if value is False and default is True:           # a --no-<name> switch
                out.append("--no-" + dest.replace("_", "-"))
            else:
                out.append(flag if value is True else f"{flag} {shown(value)}")
    return out


def destination_of(args, verb: str):
    """The :class:`~analysis.outputs.run_folders.Destination` of this run's result files."""
    from ..config import default_dataset

    return destination(verb, default_dataset(getattr(args, "dataset", None)), departures(args),
                       getattr(args, "out", None))


def emit(args, result, save, formatter, indent=2, where=None) -> int:
    """Write the result files (unless --no-save) where ``where`` (default: a new
    :func:`destination_of`) says, saying where and why on stderr, then print JSON (--json) or
    the table."""
    if not args.no_save:
        where = where or destination_of(args, args.verb)
        print(where.why, file=sys.stderr)
        paths = save(result, where.folder)
        print("Wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    print_result(args, result, formatter, indent)
    return 0


def print_result(args, result, formatter, indent=2) -> None:
    if getattr(args, "json", False):
        json.dump(result, sys.stdout, indent=indent)
        print()
    else:
        print(formatter(result))
