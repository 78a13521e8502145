"""The command line: ``python -m analysis <verb>``.

Verbs: ``train-classifier``, ``train-processor``, ``evaluate``, ``zoo``,
``import-weights`` and ``list`` (datasets, tasks, models, methods). Errors of
the project's own kinds are printed as one sentence with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import RAExplorerError
from .specs import parse_value


def _kwargs(items: list[str] | None) -> dict:
    """``["channels=32", "blocks=6"]`` -> ``{"channels": 32, "blocks": 6}``."""
    out = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise RAExplorerError(f"Cannot read {item!r}; write architecture options as key=value.")
        out[key] = parse_value(value)
    return out


def _common_training(p: argparse.ArgumentParser):
    p.add_argument("--dataset", default="fashion-mnist", help="dataset spec (see 'list datasets')")
    p.add_argument("--data-root", default=None, help="folder holding the dataset files")
    p.add_argument("--out", required=True, help="checkpoint path stem (writes .safetensors + .json)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--arch-kw", nargs="*", metavar="KEY=VALUE", help="constructor options")
    p.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    p.add_argument("--val-limit", type=int, default=2000, help="validation images per epoch")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:N (default: cuda if present)")
    p.add_argument("--resume", action="store_true", help="continue from the saved state")
    p.add_argument("--max-steps", type=int, default=None, help="stop after N steps (smoke runs)")
    p.add_argument("--float16", action="store_true", help="store weights as float16")
    p.add_argument("--state-dir", default="runs", help="where resumable training state goes")
    p.add_argument("--no-progress", action="store_true")


def cmd_train_classifier(args) -> int:
    from .train import train_classifier

    train_classifier(args.arch, dataset=args.dataset, out=args.out, epochs=args.epochs,
                     batch_size=args.batch_size or 128, lr=args.lr or 2e-3,
                     weight_decay=args.weight_decay, seed=args.seed, adv_eps=args.adv_eps,
                     adv_steps=args.adv_steps, augmentation=not args.no_augment,
                     arch_kwargs=_kwargs(args.arch_kw), data_root=args.data_root,
                     limit=args.limit, val_limit=args.val_limit, device=args.device,
                     resume=args.resume, max_steps=args.max_steps,
                     dtype="float16" if args.float16 else "float32", state_dir=args.state_dir,
                     progress=not args.no_progress)
    return 0


def cmd_train_processor(args) -> int:
    from .train import train_processor

    train_processor(args.task, args.method, dataset=args.dataset, out=args.out,
                    recognizer=args.recognizer, lam=args.lam, epochs=args.epochs,
                    batch_size=args.batch_size or 64, lr=args.lr or 1e-3, seed=args.seed,
                    arch_kwargs=_kwargs(args.arch_kw),
                    transformer_kwargs=_kwargs(args.transformer_kw),
                    layers=args.layers.split(",") if args.layers else None, losses=args.losses,
                    texture_weight=args.texture_weight, patch=args.patch,
                    unsup_distance=args.unsup_distance, data_root=args.data_root,
                    limit=args.limit, val_limit=args.val_limit, device=args.device,
                    resume=args.resume, max_steps=args.max_steps,
                    dtype="float16" if args.float16 else "float32", state_dir=args.state_dir,
                    progress=not args.no_progress, init=args.init)
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate, format_report, report_tasks

    tasks = [args.task] if args.task else report_tasks(args.dataset, args.checkpoints)
    results = [evaluate(t, dataset=args.dataset, folder=args.checkpoints, limit=args.limit,
                        batch_size=args.batch_size, device=args.device, seed=args.seed,
                        data_root=args.data_root, progress=not args.no_progress)
               for t in tasks]
    if args.update_cards:
        from .evaluate import update_cards

        if args.limit is not None:
            raise RAExplorerError("--update-cards needs the whole test split; drop --limit.")
        for result in results:
            update_cards(result, args.checkpoints)
    if args.json:
        json.dump(results[0] if args.task else results, sys.stdout, indent=2)
        print()
    else:
        print("\n\n".join(format_report(r) for r in results))
    return 0


def _emit(args, result, save, formatter, indent=2) -> int:
    """Save a copy in results/ (unless --no-save), then print JSON (--json) or the table."""
    from .quality import RESULTS_DIR

    if not args.no_save:
        paths = save(result, args.out or RESULTS_DIR)
        print("Wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    if args.json:
        json.dump(result, sys.stdout, indent=indent)
        print()
    else:
        print(formatter(result))
    return 0


def cmd_quality(args) -> int:
    from .quality import format_quality, quality_table, save_quality

    metrics = args.metrics.split(",") if args.metrics else None
    result = quality_table(args.task, dataset=args.dataset, folder=args.checkpoints,
                           metrics=metrics, limit=args.limit, batch_size=args.batch_size,
                           device=args.device, seed=args.seed, data_root=args.data_root,
                           progress=not args.no_progress)
    return _emit(args, result, save_quality, format_quality)


def cmd_metrics(args) -> int:
    from .metrics import list_metrics

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


def cmd_results(args) -> int:
    from .quality import RESULTS_DIR
    from .report import regenerate

    if args.update_cards and args.limit is not None:
        raise RAExplorerError("--update-cards needs the whole test split; drop --limit.")
    results, written = regenerate(dataset=args.dataset, folder=args.checkpoints,
                                  limit=args.limit, out_dir=args.out or RESULTS_DIR,
                                  progress=not args.no_progress, device=args.device,
                                  fresh=args.fresh)
    print("Wrote " + ", ".join(str(p) for p in written))
    if args.update_cards:
        from .evaluate import update_cards

        names = [n for result in results for n in update_cards(result, args.checkpoints)]
        print(f"Updated the cards of {len(set(names))} checkpoints with their test figures.")
    return 0


def cmd_boundaries(args) -> int:
    import os

    from .boundary_table import boundary_report, format_boundary_report, save_boundary_report

    report = boundary_report(args.task, args.source, args.target, matrix=args.matrix,
                             folder=args.checkpoints, dataset=args.dataset, plain=args.plain,
                             ra=args.ra, limit=args.limit, all_images=args.all_images,
                             max_dist=args.max_dist, tol=args.tol, steps=args.steps,
                             clip=args.clip, seed=args.seed, device=args.device,
                             progress=not args.no_progress)
    if int(os.environ.get("RANK", "0")) != 0:
        return 0
    return _emit(args, report, save_boundary_report, format_boundary_report)


def cmd_features(args) -> int:
    from .features import feature_report, format_measures, save_feature_report

    report = feature_report(args.task, args.classifier, n=args.n, seed=args.seed,
                            backend=args.backend, folder=args.checkpoints, dataset=args.dataset,
                            device=args.device,
                            processors=args.processors.split(",") if args.processors else None)
    return _emit(args, report, save_feature_report, format_measures, indent=None)


def cmd_robustness(args) -> int:
    from .checkpoints import checkpoint_dir, load_checkpoint
    from .data import load_dataset
    from .device import pick_device
    from .stats import wilson_interval
    from .train import accuracy, robust_accuracy

    dev = pick_device(args.device)
    model, card = load_checkpoint(checkpoint_dir(args.checkpoints) / args.classifier, device=dev)
    eps = args.eps if args.eps is not None else (
        (card.get("training") or {}).get("adversarial") or {}).get("eps")
    if not eps:
        raise RAExplorerError(f"{args.classifier} was not trained adversarially; pass --eps.")
    test = load_dataset(card.get("dataset") or "fashion-mnist", "test")
    n = len(test) if args.limit is None else min(args.limit, len(test))
    clean = accuracy(model, test, dev, limit=args.limit)
    robust = robust_accuracy(model, test, dev, eps=eps, steps=args.steps, limit=args.limit,
                             seed=args.seed)
    result = {"classifier": args.classifier, "images": n, "eps": eps, "norm": "L2",
              "units": "[0,1]-pixel L2", "steps": args.steps, "clean_accuracy": clean,
              "clean_ci95": list(wilson_interval(round(clean * n), n)),
              "robust_accuracy": robust, "robust_ci95": list(wilson_interval(round(robust * n), n))}
    if args.update_card:
        from .checkpoints import update_card

        update_card(checkpoint_dir(args.checkpoints) / args.classifier,
                    metrics={f"test_pgd{args.steps}_accuracy": robust,
                             f"test_pgd{args.steps}_eps": eps, f"test_pgd{args.steps}_images": n})
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


def cmd_storage_check(args) -> int:
    from .storage_check import format_storage_check, save_storage_check, storage_check

    names = args.models.split(",") if args.models else None
    result = storage_check(names, folder=args.checkpoints, state_dir=args.state_dir,
                           dataset_name=args.dataset, limit=args.limit, device=args.device,
                           progress=not args.no_progress)
    args.no_save = args.no_save or bool(args.limit)   # results/ holds full test-split figures only
    _emit(args, result, save_storage_check, format_storage_check)
    return 0 if all(r["within_tolerance"] for r in result["rows"]) else 1


def cmd_zoo(args) -> int:
    from .checkpoints import checkpoint_dir, find_checkpoints

    cards = find_checkpoints(args.checkpoints)
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
        print(f"{c['name']:<28} {c['kind']:<11} {c['arch']:<14} {str(c.get('task') or '-'):<14} "
              f"{str(c.get('method') or '-'):<18} {'-' if lam is None else f'{lam:g}':>7}  {metrics}")
    return 0


def cmd_import_weights(args) -> int:
    from .checkpoints import import_weights

    path = import_weights(args.arch, args.weights, args.out, _kwargs(args.arch_kw),
                          dataset=args.dataset)
    print(f"Wrote {path}")
    return 0


def cmd_build_zoo(args) -> int:
    from .recipe import build_zoo

    names = build_zoo(args.only, folder=args.checkpoints, state_dir=args.state_dir,
                      force=args.force, progress=not args.no_progress, dry_run=args.dry_run)
    print(("Would train: " if args.dry_run else "Trained: ") + (", ".join(names) or "nothing"))
    if args.dry_run:
        from .checkpoints import checkpoint_dir
        from .recipe import RECIPE, entry_seconds, is_done

        folder = checkpoint_dir(args.checkpoints)
        times = {e["name"]: entry_seconds(e, folder) for e in RECIPE}
        done = {n: t for n, t in times.items() if t is not None}
        unrecorded = [e["name"] for e in RECIPE if times[e["name"]] is None and is_done(e, folder)]
        print(f"Done: {len(done)} of {len(RECIPE)} entries, {sum(done.values()) / 3600:.2f} "
              f"core-hours of recorded training (one process per core; two processes in "
              f"parallel take about half of it in wall time)"
              + (f"; time not recorded for {', '.join(unrecorded)}" if unrecorded else ""))
    return 0


def cmd_list(args) -> int:
    from .data import list_datasets
    from .methods import list_methods
    from .tasks import list_tasks
    from .zoo import list_models

    listing = {"datasets": [{"name": n} for n in list_datasets()], "tasks": list_tasks(),
               "models": list_models(), "methods": list_methods()}[args.what]
    if args.json:
        json.dump(listing, sys.stdout, indent=2)
        print()
    else:
        for entry in listing:
            print(f"{entry['name']:<18} {entry.get('description', '')}")
    return 0


def _analysis_options(p: argparse.ArgumentParser):
    """Options shared by the verbs that write a copy in results/."""
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--checkpoints", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--out", default=None, help="results folder (default: results/)")
    p.add_argument("--no-save", action="store_true", help="do not write the copy in results/")
    p.add_argument("--json", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis",
                                     description="RA Explorer: train and analyse RA image processing.")
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("train-classifier", help="train a classifier (standard or PGD-L2 adversarial)")
    p.add_argument("--arch", required=True, help="classifier name (see 'list models')")
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--adv-eps", type=float, default=0.0,
                   help="PGD-L2 radius in [0,1]-pixel L2 units (0 = standard training)")
    p.add_argument("--adv-steps", type=int, default=7)
    p.add_argument("--no-augment", action="store_true", help="no random shifts / flips")
    _common_training(p)
    p.set_defaults(func=cmd_train_classifier)

    p = sub.add_parser("train-processor", help="train an SRResNet processor with a method")
    p.add_argument("--task", required=True, help="task spec, e.g. sr, denoise:sigma=0.2, jpeg")
    p.add_argument("--method", required=True, help="plain, ra, ra-unsup, ra-transformer, "
                   "perceptual, robust-perceptual")
    p.add_argument("--recognizer", default=None, help="classifier checkpoint used by the loss")
    p.add_argument("--lambda", dest="lam", type=float, default=0.0, help="loss weight lambda")
    p.add_argument("--transformer-kw", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--layers", default=None, help="feature layers for perceptual losses (a,b)")
    p.add_argument("--losses", default="EP", help="perceptual combination: E, EP, EPT, PT")
    p.add_argument("--texture-weight", type=float, default=0.0)
    p.add_argument("--patch", type=int, default=8, help="texture-loss patch size (feature pixels)")
    p.add_argument("--unsup-distance", default="prob-l2", help="prob-l2, kl or logit-l2")
    p.add_argument("--init", default=None, help="start P from this processor checkpoint")
    _common_training(p)
    p.set_defaults(func=cmd_train_processor)

    p = sub.add_parser("evaluate", help="accuracy matrix and PSNR / SSIM on the test split")
    p.add_argument("--task", default=None,
                   help="task spec (default: sr, denoise, jpeg and every other task in the zoo)")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-root", default=None)
    p.add_argument("--checkpoints", default=None, help="checkpoint folder (default: checkpoints/)")
    p.add_argument("--limit", type=int, default=None, help="first N test images only")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--seed", type=int, default=0, help="seed of the per-index degradations")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--update-cards", action="store_true",
                   help="write the measured test accuracy / PSNR / SSIM into the model cards")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("quality", help="every metric for every processor of a task (Table 2)")
    p.add_argument("--task", required=True)
    p.add_argument("--metrics", default=None, help="comma-separated names (default: all available)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    _analysis_options(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("boundaries", help="BD / IBD along RA and random directions (Table 17)")
    p.add_argument("--task", required=True)
    p.add_argument("--source", default="resnet20", help="source classifier Rs")
    p.add_argument("--target", default=None, help="target classifier Rt")
    p.add_argument("--matrix", action="store_true", help="every pair of zoo classifiers")
    p.add_argument("--plain", default=None, help="plain processor (default: <task>-plain)")
    p.add_argument("--ra", default=None, help="RA processor (default: <task>-ra)")
    p.add_argument("--all-images", action="store_true",
                   help="use every image, not only those with Rs(x) = Rt(x) != label")
    p.add_argument("--limit", type=int, default=None, help="first N test images")
    p.add_argument("--max-dist", type=float, default=30.0, help="search range, [0,1]-pixel L2")
    p.add_argument("--tol", type=float, default=1e-3, help="bisection tolerance, same units")
    p.add_argument("--steps", type=int, default=30, help="coarse scan steps")
    p.add_argument("--clip", action="store_true", help="clip x + delta d to [0, 1]")
    p.add_argument("--seed", type=int, default=0, help="seed of the random directions")
    _analysis_options(p)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_boundaries)

    p = sub.add_parser("features", help="t-SNE of HQ / LQ / processed features, with measures")
    p.add_argument("--task", required=True)
    p.add_argument("--classifier", default="resnet20")
    p.add_argument("--n", type=int, default=1000, help="test images per source (stratified)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="opentsne", choices=["opentsne", "sklearn"])
    p.add_argument("--processors", default=None,
                   help="comma-separated processor names (default: one per method)")
    _analysis_options(p)
    p.set_defaults(func=cmd_features)

    from .survey.cli import register as register_survey

    register_survey(sub)

    p = sub.add_parser("results", help="re-measure the RA paper's tables into results/")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--checkpoints", default=None)
    p.add_argument("--limit", type=int, default=None, help="first N test images (default: all)")
    p.add_argument("--out", default=None, help="results folder (default: results/)")
    p.add_argument("--device", default=None)
    p.add_argument("--fresh", action="store_true",
                   help="re-measure every task (default: reuse a task's saved evaluation when "
                        "it was measured on the same checkpoints)")
    p.add_argument("--update-cards", action="store_true",
                   help="write the measured test figures into the model cards")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("metrics", help="list the metrics, with availability")
    p.add_argument("--checkpoints", default=None)
    p.add_argument("--dataset", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("robustness", help="clean and PGD-L2 accuracy of a classifier")
    p.add_argument("--classifier", required=True)
    p.add_argument("--eps", type=float, default=None,
                   help="L2 radius in [0,1]-pixel units (default: the training epsilon)")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoints", default=None)
    p.add_argument("--device", default=None)
    p.add_argument("--update-card", action="store_true")
    p.set_defaults(func=cmd_robustness)

    p = sub.add_parser("float16-check", help="stored (float16) checkpoints vs their float32 "
                       "training weights: test accuracy and PSNR")
    p.add_argument("--models", default=None, help="comma-separated names (default: every "
                   "checkpoint with a training state)")
    p.add_argument("--state-dir", default="runs", help="where build-zoo kept the training states")
    p.add_argument("--limit", type=int, default=None, help="first N test images (not saved)")
    p.add_argument("--no-progress", action="store_true")
    _analysis_options(p)
    p.set_defaults(func=cmd_storage_check)

    p = sub.add_parser("zoo", help="list the checkpoints with their cards")
    p.add_argument("--checkpoints", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_zoo)

    p = sub.add_parser("import-weights", help="convert a torch.save state dict to a checkpoint")
    p.add_argument("--arch", required=True)
    p.add_argument("--weights", required=True, help="a .pth state dict (read with weights_only)")
    p.add_argument("--out", required=True)
    p.add_argument("--dataset", default="")
    p.add_argument("--arch-kw", nargs="*", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_import_weights)

    p = sub.add_parser("build-zoo", help="train every missing checkpoint of the embedded zoo")
    p.add_argument("--only", nargs="*", help="glob patterns of checkpoint names")
    p.add_argument("--checkpoints", default=None)
    p.add_argument("--state-dir", default="runs")
    p.add_argument("--force", action="store_true", help="retrain entries that exist")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_build_zoo)

    p = sub.add_parser("list", help="list datasets, tasks, models or methods")
    p.add_argument("what", choices=["datasets", "tasks", "models", "methods"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (RAExplorerError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
