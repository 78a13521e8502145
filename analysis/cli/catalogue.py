"""Verbs that list what is there: ``zoo`` (checkpoints with their cards) and ``list``
(datasets, tasks, models, methods)."""

from __future__ import annotations

import json
import sys

from .options import CHECKPOINTS, JSON


def cmd_zoo(args) -> int:
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


def register(sub) -> None:
    p = sub.add_parser("zoo", parents=[CHECKPOINTS(), JSON()],
                       help="list the checkpoints with their cards (and the collections beside "
                            "the zoo, such as loss-grid/, each card with its 'collection')")
    p.add_argument("--no-collections", action="store_true",
                   help="only the checkpoint folder itself")
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("list", parents=[JSON()], help="list datasets, tasks, models or methods")
    p.add_argument("what", choices=["datasets", "tasks", "models", "methods"])
    p.set_defaults(func=cmd_list)
