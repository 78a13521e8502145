"""Verbs that measure on the test split: ``evaluate``, ``results``, ``quality``, ``loss-grid``,
``metrics``, ``float16-check``, ``robustness``."""

from __future__ import annotations

import json
import sys

from ..analyses.recognizer_side import DEGRADATIONS
from ..config import QUALITY_IMAGES, ROBUSTNESS_IMAGES
from ..errors import RAExplorerError
from .options import (
    CHECKPOINTS,
    DATASET,
    DEVICE,
    JSON,
    LIMIT,
    PROGRESS,
    SEED,
    analysis_groups,
    destination_of,
    emit,
    print_result,
    protocol,
)
from .validators import dataset_spec, non_negative_int, positive_float, positive_int, task_spec


def cmd_evaluate(args) -> int:
    from ..analyses.evaluate import accuracy_report, format_report, measure_task, report_tasks, update_cards
    from ..config import default_dataset
    from ..pipeline.runner import world

    dataset = default_dataset(args.dataset)
    tasks = [args.task] if args.task else report_tasks(dataset, args.checkpoints)
    if args.update_cards and args.limit is not None:
        raise RAExplorerError("--update-cards needs the whole test split; drop --limit.")
    if args.records and len(tasks) != 1:
        raise RAExplorerError("--records writes one task's table; pass --task.")
    results = []
    for t in tasks:
        table, clf_cards, proc_cards = measure_task(
            t, dataset=dataset, folder=args.checkpoints, limit=args.limit,
            batch_size=args.batch_size, device=args.device, seed=args.seed,
            classifiers=args.classifiers.split(",") if args.classifiers else None,
            data_root=args.data_root, progress=not args.no_progress)
        results.append(accuracy_report(table, proc_cards, clf_cards, args.seed))
        if args.records and world()[0] == 0:
            print(f"Wrote {table.save(args.records)}", file=sys.stderr)
    if world()[0] != 0:
        return 0
    if args.update_cards:
        for result in results:
            update_cards(result, args.checkpoints)
    print_result(args, results[0] if args.task else results,
                 lambda rs: "\n\n".join(format_report(r) for r in (rs if isinstance(rs, list)
                                                                    else [rs])))
    return 0


def cmd_results(args) -> int:
    from ..analyses.evaluate import update_cards
    from ..reporting.reproduce import regenerate

    if args.update_cards and args.limit is not None:
        raise RAExplorerError("--update-cards needs the whole test split; drop --limit.")
    where = destination_of(args, "results")
    print(where.why, file=sys.stderr)
    results, written = regenerate(dataset=args.dataset, folder=args.checkpoints,
                                  limit=args.limit, out_dir=where.folder,
                                  progress=not args.no_progress, device=args.device,
                                  fresh=args.fresh, tasks=args.task, figures=True)
    print("Wrote " + ", ".join(str(p) for p in written))
    if args.update_cards:
        names = [n for result in results for n in update_cards(result, args.checkpoints)]
        print(f"Updated the cards of {len(set(names))} checkpoints with their test figures.")
    return 0


def cmd_quality(args) -> int:
    from ..analyses.quality import format_quality, quality_table, save_quality

    metrics = args.metrics.split(",") if args.metrics else None
    result = quality_table(args.task, dataset=args.dataset, folder=args.checkpoints,
                           metrics=metrics, limit=args.limit, batch_size=args.batch_size,
                           device=args.device, seed=args.seed, data_root=args.data_root,
                           progress=not args.no_progress)
    return emit(args, result, save_quality, format_quality)


def cmd_loss_grid(args) -> int:
    from ..analyses.loss_grid import format_loss_grid, loss_grid_report, save_loss_grid

    evaluators = tuple(args.evaluators.split(","))
    if len(evaluators) != 2:
        raise RAExplorerError("--evaluators takes two classifier names: STANDARD,ROBUST.")
    result = loss_grid_report(args.task, dataset=args.dataset, folder=args.checkpoints,
                              grid_folder=args.grid_folder,
                              metrics=args.metrics.split(",") if args.metrics else None,
                              evaluators=evaluators, limit=args.limit,
                              quality_limit=args.quality_limit, batch_size=args.batch_size,
                              device=args.device, seed=args.seed, data_root=args.data_root,
                              progress=not args.no_progress)
    return emit(args, result, save_loss_grid, format_loss_grid)


def cmd_recognizers(args) -> int:
    from ..analyses.recognizer_side import (
        format_recognizer_table,
        measure_recognizers,
        save_recognizer_table,
    )

    where = destination_of(args, "recognizers")   # once: the records and the table share it
    if not args.no_save:
        print(where.why, file=sys.stderr)
    result = measure_recognizers(args.dataset, args.checkpoints, vanilla=args.vanilla,
                                 degradations=args.degradations.split(","), limit=args.limit,
                                 batch_size=args.batch_size, device=args.device, seed=args.seed,
                                 records_dir=None if args.no_save else where.folder,
                                 progress=not args.no_progress)
    if not args.no_save:
        paths = save_recognizer_table(result, where.folder)
        print("Wrote " + ", ".join(str(p) for p in paths) + " and the record tables beside "
              "them", file=sys.stderr)
    print_result(args, result, format_recognizer_table)
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


def cmd_robustness(args) -> int:
    from ..analyses.robustness import format_robustness, robustness_report, save_robustness

    result = robustness_report(args.classifier, folder=args.checkpoints, eps=args.eps,
                               steps=args.steps, limit=args.limit, seed=args.seed,
                               device=args.device, update_card=args.update_card,
                               progress=not args.no_progress)
    return emit(args, result, save_robustness, format_robustness)


def cmd_storage_check(args) -> int:
    from ..analyses.storage_check import format_storage_check, save_storage_check, storage_check
    from ..config import default_dataset

    names = args.models.split(",") if args.models else None
    result = storage_check(names, folder=args.checkpoints, state_dir=args.state_dir,
                           dataset_name=default_dataset(args.dataset), limit=args.limit,
                           device=args.device, progress=not args.no_progress, source=args.source)
    emit(args, result, save_storage_check, format_storage_check)
    return 0 if all(r["within_tolerance"] for r in result["rows"]) else 1


def register(sub) -> None:
    p = sub.add_parser("evaluate", parents=[DATASET(), CHECKPOINTS(), DEVICE(), LIMIT(), JSON(),
                                            PROGRESS()],
                       help="accuracy matrix and PSNR / SSIM on the test split")
    p.add_argument("--task", type=task_spec, default=None,
                   help="task spec (default: sr, denoise, jpeg and every other task in the zoo)")
    p.add_argument("--batch-size", type=positive_int, default=500)
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the per-index degradations")
    p.add_argument("--classifiers", default=None, metavar="A,B",
                   help="comma-separated classifiers (default: the zoo's; names may also come "
                        "from checkpoints/recognizers/, e.g. resnet20,resnet20-qualnet)")
    p.add_argument("--update-cards", action="store_true",
                   help="write the measured test accuracy / PSNR / SSIM into the model cards")
    p.add_argument("--records", default=None, metavar="FILE.parquet",
                   help="also write the per-image record table there")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("results", parents=[DATASET(), CHECKPOINTS(), DEVICE(), LIMIT(),
                                           PROGRESS()],
                       help="re-measure the RA paper's tables, the record tables and the "
                            "quality tables into results/, and draw the paper figures into "
                            "results/figures/")
    p.add_argument("--out", default=None,
                   help="folder for the result files (default: results/ for the full protocol, "
                        "else runs/results/<time stamp>/)")
    p.add_argument("--fresh", action="store_true",
                   help="re-measure every task (default: reuse a task's saved evaluation when "
                        "it was measured on the same checkpoints)")
    p.add_argument("--task", type=task_spec, action="append", default=None,
                   help="re-measure this task (repeatable); the others are reused when they can be")
    p.add_argument("--update-cards", action="store_true",
                   help="write the measured test figures into the model cards")
    protocol(p, "limit")
    p.set_defaults(func=cmd_results)

    p = sub.add_parser("quality", parents=[*analysis_groups(), SEED()],
                       help="every metric for every processor of a task (Table 2)")
    p.add_argument("--task", type=task_spec, required=True)
    p.add_argument("--metrics", default=None, help="comma-separated names (default: all available)")
    p.add_argument("--batch-size", type=positive_int, default=250)
    p.add_argument("--limit", type=positive_int, default=QUALITY_IMAGES,
                   help=f"first N test images (default {QUALITY_IMAGES}, the shipped tables' "
                        "protocol)")
    protocol(p, "limit", "metrics", "seed")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("loss-grid", parents=[*analysis_groups(), SEED()],
                       help="Uelwer et al.'s E / P / T loss grid: quality (Table 2) and error on "
                            "a standard and a robust evaluator with rank correlation (Figure 1)")
    p.add_argument("--task", type=task_spec, default="sr")
    p.add_argument("--grid-folder", default=None,
                   help="folder of the grid's processors (default checkpoints/loss-grid)")
    p.add_argument("--metrics", default=None, help="comma-separated names (default: psnr, ssim, "
                   "uqi, ifc, gmsd, lpips-STANDARD, rlpips-ROBUST)")
    p.add_argument("--evaluators", default="resnet20,resnet20-robust",
                   help="STANDARD,ROBUST classifiers judging the outputs (not loss networks)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="first N test images for the errors (default: the whole split)")
    p.add_argument("--quality-limit", type=positive_int, default=QUALITY_IMAGES,
                   help=f"of them, the first N get every metric (default {QUALITY_IMAGES})")
    p.add_argument("--batch-size", type=positive_int, default=250)
    protocol(p, "limit", "quality_limit", "metrics", "evaluators", "grid_folder", "seed")
    p.set_defaults(func=cmd_loss_grid)

    p = sub.add_parser("recognizers", parents=[*analysis_groups(), SEED()],
                       help="fix the image or fix the recognizer: every classifier (vanilla and "
                            "the recognizer-side ones) on LQ, plain and RA outputs, with mCE")
    p.add_argument("--vanilla", default="resnet20", help="the classifier mCE is relative to")
    p.add_argument("--degradations", default=",".join(DEGRADATIONS),
                   help="comma-separated task specs (columns)")
    p.add_argument("--limit", type=positive_int, default=None, help="first N test images")
    p.add_argument("--batch-size", type=positive_int, default=500)
    protocol(p, "limit", "vanilla", "degradations", "seed")
    p.set_defaults(func=cmd_recognizers)

    p = sub.add_parser("metrics", parents=[CHECKPOINTS(), JSON()],
                       help="list the metrics, with availability")
    p.add_argument("--dataset", type=dataset_spec, default=None)
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("robustness", parents=[*analysis_groups(), SEED()],
                       help="clean and PGD-L2 accuracy of a classifier")
    p.add_argument("--classifier", required=True)
    p.add_argument("--eps", type=positive_float, default=None,
                   help="L2 radius in [0,1]-pixel units (default: the training epsilon)")
    p.add_argument("--steps", type=positive_int, default=20)
    p.add_argument("--limit", type=positive_int, default=ROBUSTNESS_IMAGES,
                   help=f"first N test images (default {ROBUSTNESS_IMAGES}, the shipped protocol)")
    p.add_argument("--update-card", action="store_true")
    protocol(p, "limit", "eps", "steps", "seed")
    p.set_defaults(func=cmd_robustness)

    p = sub.add_parser("float16-check", parents=[*analysis_groups(), LIMIT()],
                       help="stored (float16) checkpoints vs their float32 training weights: "
                            "test accuracy and PSNR")
    p.add_argument("--models", default=None, help="comma-separated names (default: every "
                   "checkpoint with a training state)")
    p.add_argument("--state-dir", default="runs", help="where build-zoo kept the training states")
    p.add_argument("--source", default=None,
                   help="classifier judging plain processors (default: the RA source their "
                        "task's cards name)")
    protocol(p, "limit", "models", "source")
    p.set_defaults(func=cmd_storage_check)
