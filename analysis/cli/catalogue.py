"""``list datasets | tasks | models | methods | metrics | checkpoints``: what is there (the
checkpoints with their cards, the metrics with their availability)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .options import CHECKPOINTS, JSON
from .validators import dataset_spec
from .vocabulary import OneLineParser


def cmd_checkpoints(args) -> int:
    from ..zoo.catalogue import (
        broken_cards,
        checkpoint_dir,
        clash_message,
        collection_dirs,
        find_checkpoints,
        name_clashes,
        nested_collection_dirs,
    )
    from ..zoo.checkpoints import load_card

    folders = {None: args.checkpoints}           # collection name (None: the folder) -> folder
    if not args.no_collections:
        folders.update(collection_dirs(args.checkpoints))
        folders.update(nested_collection_dirs(args.checkpoints))   # loss-grid/seeds, ...
        bases = checkpoint_dir(args.checkpoints) / "bases"   # fine-tuning starts, QualNet's
        if bases.is_dir():                                    # stage-1 network
            folders["bases"] = bases
    cards = []
    for collection, folder in folders.items():
        listed = [{**c, "collection": collection} for c in find_checkpoints(folder)]
        # a name several cards give: each of those files listed and flagged, none used
        for name, files in name_clashes(folder).items():
            listed += [{**load_card(checkpoint_dir(folder) / f), "collection": collection,
                        "clash": clash_message(name, files, folder)} for f in files]
        cards += sorted(listed, key=lambda c: (c["name"], Path(c["path"]).name))
        for problem in dict.fromkeys(broken_cards(folder).values()):
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
        if c.get("clash"):
            name += f" ({Path(c['path']).name}.json)"
            metrics = "NOT USED: another card of the folder has this name"
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
        width = max([18, *(len(e["name"]) + 1 for e in listing)])   # one column of names
        for entry in listing:
            options = ", ".join(f"{k}={v}" for k, v in entry.get("options", {}).items())
            print(f"{entry['name']:<{width}} {entry.get('description', '')}"
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
