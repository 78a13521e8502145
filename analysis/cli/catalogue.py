"""``list datasets | tasks | models | methods | metrics | checkpoints``: what is there (the
checkpoints with their cards, the metrics with their availability)."""

from __future__ import annotations

import json
import sys

from .options import CHECKPOINTS, JSON
from .validators import dataset_spec
from .vocabulary import OneLineParser


def cmd_checkpoints(args) -> int:
    from ..zoo.catalogue import broken_cards, checkpoint_dir, collection_dirs, find_checkpoints

    cards = [{**c, "collection": None} for c in find_checkpoints(args.checkpoints)]
    folders = [args.checkpoints]
    if not args.no_collections:
        places = dict(collection_dirs(args.checkpoints))
        bases = checkpoint_dir(args.checkpoints) / "bases"   # fine-tuning starts, QualNet's
        if bases.is_dir():                                    # stage-1 network
            places["bases"] = bases
        for name, folder in places.items():
            cards += [{**c, "collection": name} for c in find_checkpoints(folder)]
            folders.append(folder)
    for folder in folders:
        for problem in broken_cards(folder).values():
            print(f"skipped: {problem}", file=sys.stderr)
    if args.json:
        json.dump(cards, sys.stdout, indent=2)
        print()
        return 0
    if not cards:
        print(f"No checkpoints in {checkpoint_dir(args.checkpoints)}.")
        return 0
    print(f"{'name':<28} {'kind':<11} {'arch':<14} {'task':<14} {'method':<18} {'lambda':>7}  metrics")
    for c in cards:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in (c.get("metrics") or {}).items()
                            if isinstance(v, (int, float)))
        lam = c.get("lambda")
        name = f"{c['collection']}/{c['name']}" if c["collection"] else c["name"]
        print(f"{name:<28} {c['kind']:<11} {c['arch']:<14} {str(c.get('task') or '-'):<14} "
              f"{str(c.get('method') or '-'):<18} {'-' if lam is None else f'{lam:g}':>7}  {metrics}")
    return 0


def cmd_list(args) -> int:
    from ..data.datasets import describe_datasets
    from ..data.tasks import list_tasks
    from ..methods import list_methods
    from ..zoo import list_models

    listing = {"datasets": describe_datasets(), "tasks": list_tasks(),
               "models": list_models(), "methods": list_methods()}[args.what]
    if args.json:
        json.dump(listing, sys.stdout, indent=2)
        print()
    else:
        for entry in listing:
            options = ", ".join(f"{k}={v}" for k, v in entry.get("options", {}).items())
            print(f"{entry['name']:<18} {entry.get('description', '')}"
                  + (f" (options: {options})" if options else ""))
    return 0


def cmd_metrics(args) -> int:
    from ..metrics.registry import list_metrics

    specs = list_metrics(args.checkpoints, args.dataset)
    if args.json:
        json.dump(specs, sys.stdout, indent=2)
        print()
        return 0
    for m in specs:
        state = "available" if m["available"] else "UNAVAILABLE: " + m["unavailable_reason"]
        arrow = "lower is better" if m["lower_better"] else "higher is better"
        print(f"{m['name']:<22} {arrow:<16} {m['description']}  [{state}]")
    return 0


def register(sub) -> None:
    p = sub.add_parser("list", help="list datasets, tasks, models, methods, metrics or "
                                    "checkpoints")
    what = p.add_subparsers(dest="what", required=True, metavar="WHAT",
                            parser_class=OneLineParser)
    for name, text in (("datasets", "the datasets by name, with their options"),
                       ("tasks", "the tasks (degradations) by name, with their options"),
                       ("models", "the architectures by name, with their options"),
                       ("methods", "the processor and recognizer-side methods")):
        q = what.add_parser(name, parents=[JSON()], help=text)
        q.set_defaults(func=cmd_list)

    q = what.add_parser("metrics", parents=[CHECKPOINTS(), JSON()],
                        help="the image-quality metrics, with availability")
    q.add_argument("--dataset", type=dataset_spec, default=None,
                   help="dataset whose classifiers the network metrics use (default: "
                        "$RA_DATASET or fashion-mnist)")
    q.set_defaults(func=cmd_metrics)

    q = what.add_parser("checkpoints", parents=[CHECKPOINTS(), JSON()],
                        help="the checkpoints with their cards (and the collections beside "
                             "the zoo, such as loss-grid/, each card with its 'collection')")
    q.add_argument("--no-collections", action="store_true",
                   help="only the checkpoint folder itself")
    q.set_defaults(func=cmd_checkpoints)
