"""Verbs that measure on the test split: ``evaluate``, ``reproduce``, ``quality``, ``agreement``,
``margins``, ``loss-grid``, ``recognizer-side``, ``corruption-grid``, ``robustness``,
``detection-transfer``, ``category-transfer``, ``architecture-transfer``, ``seeds``, ``randomized``,
``corruption-processors``, ``float16-check``."""

from __future__ import annotations

import sys
from pathlib import Path

from ..analyses.recognizer_side import DEGRADATIONS
from ..config import QUALITY_IMAGES, ROBUSTNESS_IMAGES
from ..data.corruptions import CORRUPTIONS
from ..data.tasks import create_task
from ..errors import RAExplorerError, unknown_name
from ..zoo.catalogue import checkpoint_dir, processors_by_task, task_pool
from .options import (
    CHECKPOINTS,
    DATASET,
    DEVICE,
    JSON,
    PROGRESS,
    RESUME,
    SAMPLE,
    SAVE,
    SEED,
    analysis_groups,
    departures,
    destination_of,
    emit,
    print_result,
    protocol,
)
from .validators import (
    existing_dir,
    names,
    non_negative_int,
    positive_float,
    positive_int,
    task_list,
    task_spec,
    whole_numbers,
)
from .vocabulary import CommaList, renamed


def cmd_evaluate(args) -> int:
    from ..analyses.evaluate import accuracy_report, format_report, measure_task, report_tasks, update_cards
    from ..config import default_dataset
    from ..pipeline.runner import world

    dataset = default_dataset(args.dataset)
    tasks = [args.task] if args.task else report_tasks(dataset, args.checkpoints)
    if args.update_cards and args.sample is not None:
        raise RAExplorerError("--update-cards needs the whole test split; drop --sample.")
    if args.records and len(tasks) != 1:
        raise RAExplorerError("--records writes one task's table; pass --task.")
    named = (processors_by_task(args.processors, [create_task(t).spec for t in tasks], dataset,
                                args.checkpoints) if args.processors and len(tasks) > 1 else {})
    if args.update_cards and args.processors:
        for t in tasks:
            spec = create_task(t).spec
            own = task_pool(spec, dataset, args.checkpoints)
            foreign = [n for n in named.get(spec, args.processors) if n not in own
                       or Path(own[n]["path"]).parent != checkpoint_dir(args.checkpoints)]
            if foreign:
                raise RAExplorerError(
                    f"--update-cards writes {spec}'s test figures into the zoo's own {spec} "
                    f"cards, and {', '.join(foreign)} is not one of them (another task's or a "
                    "collection's processor); drop --update-cards or those processors.")
    results = []
    for t in tasks:
        procs = named.get(create_task(t).spec, args.processors)
        if args.processors and not procs:
            continue                 # none of the named processors is one of this task's
        table, clf_cards, proc_cards = measure_task(
            t, dataset=dataset, folder=args.checkpoints, limit=args.sample,
            batch_size=args.batch_size, device=args.device, seed=args.seed,
            classifiers=args.classifiers, processors=procs,
            data_root=args.data_root, progress=not args.no_progress, resume=args.resume,
            workers=args.workers)
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


def cmd_reproduce(args) -> int:
    from ..analyses.evaluate import update_cards
    from ..reporting.reproduce import regenerate

    if args.update_cards and args.sample is not None:
        raise RAExplorerError("--update-cards needs the whole test split; drop --sample.")
    where = destination_of(args, "reproduce")
    print(where.why, file=sys.stderr)
    results, written = regenerate(dataset=args.dataset, folder=args.checkpoints,
                                  limit=args.sample, out_dir=where.folder,
                                  progress=not args.no_progress, device=args.device,
                                  fresh=args.fresh, tasks=args.tasks, figures=True)
    print("Wrote " + ", ".join(str(p) for p in written))
    if args.update_cards:
        names = [n for result in results for n in update_cards(result, args.checkpoints)]
        print(f"Updated the cards of {len(set(names))} checkpoints with their test figures.")
    return 0


def cmd_quality(args) -> int:
    from ..analyses.quality import format_quality, quality_table, save_quality

    result = quality_table(args.task, dataset=args.dataset, folder=args.checkpoints,
                           metrics=args.metrics, limit=args.first, batch_size=args.batch_size,
                           device=args.device, seed=args.seed, data_root=args.data_root,
                           progress=not args.no_progress, resume=args.resume)
    return emit(args, result, save_quality, format_quality)


def cmd_agreement(args) -> int:
    from ..analyses.metric_agreement import format_agreement, metric_agreement, save_agreement

    if args.first is not None and args.sample is not None:
        raise RAExplorerError("--first and --sample both choose the images; pass one of them.")
    limit = args.sample if args.sample is not None else (args.first or QUALITY_IMAGES)
    result = metric_agreement(args.task, dataset=args.dataset, folder=args.checkpoints,
                              metrics=args.metrics, classifiers=args.classifiers,
                              processors=args.processors, limit=limit, n_boot=args.boot,
                              batch_size=args.batch_size, device=args.device, seed=args.seed,
                              data_root=args.data_root, progress=not args.no_progress)
    return emit(args, result, save_agreement, format_agreement)


def cmd_margins(args) -> int:
    from ..analyses.margin_consistency import format_margins, margin_consistency, save_margins

    result = margin_consistency(args.task, dataset=args.dataset, results=args.results,
                                n_boot=args.boot, seed=args.seed, classifiers=args.classifiers,
                                checkpoints=args.checkpoints)
    return emit(args, result, save_margins, format_margins)


def cmd_loss_grid(args) -> int:
    from ..analyses.loss_grid import format_loss_grid, loss_grid_report, save_loss_grid

    evaluators = tuple(args.classifiers)
    if len(evaluators) != 2:
        raise RAExplorerError("--classifiers takes two classifier names: STANDARD,ROBUST.")
    if args.across_seeds:
        return _loss_grid_seeds(args, evaluators)
    result = loss_grid_report(args.task, dataset=args.dataset, folder=args.checkpoints,
                              grid_folder=args.grid_folder, metrics=args.metrics,
                              evaluators=evaluators, limit=args.first,
                              quality_limit=args.quality_first, batch_size=args.batch_size,
                              device=args.device, seed=args.seed, data_root=args.data_root,
                              progress=not args.no_progress)
    return emit(args, result, save_loss_grid, format_loss_grid)


def _loss_grid_seeds(args, evaluators) -> int:
    from ..analyses.loss_grid_seeds import (
        format_loss_grid_seeds,
        loss_grid_seed_report,
        save_loss_grid_seeds,
    )

    ignored = [flag for flag, value in (("--grid-folder", args.grid_folder),
                                        ("--metrics", args.metrics)) if value is not None]
    if ignored:
        raise RAExplorerError(f"--across-seeds measures errors and PSNR of the seed folders' "
                              f"grids; drop {' and '.join(ignored)}.")
    result = loss_grid_seed_report(args.task, dataset=args.dataset, folder=args.checkpoints,
                                   evaluators=evaluators, limit=args.first,
                                   batch_size=args.batch_size, device=args.device,
                                   seed=args.seed, data_root=args.data_root,
                                   progress=not args.no_progress)
    return emit(args, result, save_loss_grid_seeds, format_loss_grid_seeds)


def cmd_recognizer_side(args) -> int:
    from ..analyses.recognizer_seeds import (
        format_recognizer_seeds,
        measure_recognizer_seeds,
        save_recognizer_seeds,
    )
    from ..analyses.recognizer_side import (
        format_recognizer_table,
        measure_recognizers,
        save_recognizer_table,
    )

    where = destination_of(args, "recognizer-side")   # once: the records and the table share it
    if not args.no_save:
        print(where.why, file=sys.stderr)
    measure, save, text = ((measure_recognizer_seeds, save_recognizer_seeds,
                            format_recognizer_seeds) if args.across_seeds else
                           (measure_recognizers, save_recognizer_table, format_recognizer_table))
    result = measure(args.dataset, args.checkpoints, vanilla=args.classifier,
                     degradations=args.tasks, limit=args.first, batch_size=args.batch_size,
                     device=args.device, seed=args.seed,
                     records_dir=None if args.no_save else where.folder,
                     progress=not args.no_progress)
    if not args.no_save:
        paths = save(result, where.folder)
        print("Wrote " + ", ".join(str(p) for p in paths) + " and the record tables beside "
              "them", file=sys.stderr)
    print_result(args, result, text)
    return 0


def cmd_corruption_grid(args) -> int:
    from ..analyses.corruption_grid import (
        RECORDS_FOLDER,
        default_classifiers,
        format_grid,
        measure_grid,
        save_grid,
    )

    where = _corruption_destination(args, "corruption-grid")
    classifiers = args.classifiers or default_classifiers(args.dataset, args.checkpoints)
    result = measure_grid(classifiers, args.processors, args.types or CORRUPTIONS,
                          args.levels, args.dataset, args.checkpoints, limit=args.sample,
                          batch_size=args.batch_size, device=args.device, seed=args.seed,
                          records_dir=None if args.no_save else where.folder / RECORDS_FOLDER,
                          n_boot=args.boot, progress=not args.no_progress)
    if not args.no_save:
        _wrote(save_grid(result, where.folder), where.folder / RECORDS_FOLDER)
    print_result(args, result, format_grid)
    return 0


def _corruption_destination(args, verb: str):
    """Check ``--types`` against the benchmark's, then the destination (once: the result files
    and the cells' record tables share it), said on stderr unless ``--no-save``."""
    for t in args.types or ():
        if t not in CORRUPTIONS:
            raise unknown_name("corruption type", t, list(CORRUPTIONS))
    where = destination_of(args, verb)
    if not args.no_save:
        print(where.why, file=sys.stderr)
    return where


def _wrote(paths, records: Path) -> None:
    print("Wrote " + ", ".join(str(p) for p in paths) + f" and the record tables in {records}",
          file=sys.stderr)


def cmd_robustness(args) -> int:
    from ..analyses.robustness import format_robustness, robustness_report, save_robustness

    result = robustness_report(args.classifier, folder=args.checkpoints, eps=args.pgd_eps,
                               steps=args.pgd_steps, limit=args.first, seed=args.seed,
                               device=args.device, update_card=args.update_cards,
                               progress=not args.no_progress)
    return emit(args, result, save_robustness, format_robustness)


def cmd_detection_transfer(args) -> int:
    from ..analyses.detection_transfer import (
        canvas_dataset,
        detection_transfer,
        format_detection_transfer,
        home_dataset,
        save_detection_transfer,
    )
    from ..outputs.run_folders import destination

    result = detection_transfer(args.task, dataset=args.dataset, folder=args.checkpoints,
                                processors=args.processors, detectors=args.detectors,
                                baseline=args.baseline, limit=args.first,
                                batch_size=args.batch_size, device=args.device, seed=args.seed,
                                n_boot=args.boot, data_root=args.data_root,
                                progress=not args.no_progress)
    if not args.no_save:   # the canvases' tables go to their base dataset's results folder
        where = destination(args.verb, home_dataset(canvas_dataset(args.dataset)),
                            departures(args), args.out)
        print(where.why, file=sys.stderr)
        paths = save_detection_transfer(result, where.folder)
        print("Wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    print_result(args, result, format_detection_transfer)
    return 0


def cmd_category_transfer(args) -> int:
    from ..analyses.category_transfer import (
        category_transfer,
        format_category_transfer,
        save_category_transfer,
    )

    result = category_transfer(args.task, dataset=args.dataset, folder=args.checkpoints,
                               limit=args.first, batch_size=args.batch_size, device=args.device,
                               seed=args.seed, data_root=args.data_root,
                               progress=not args.no_progress)
    return emit(args, result, save_category_transfer, format_category_transfer)


def cmd_architecture_transfer(args) -> int:
    from ..analyses.architecture_transfer import (
        architecture_transfer,
        format_architecture_transfer,
        save_architecture_transfer,
    )

    result = architecture_transfer(args.task, dataset=args.dataset, folder=args.checkpoints,
                                   limit=args.first, batch_size=args.batch_size,
                                   device=args.device, seed=args.seed,
                                   classifiers=args.classifiers, data_root=args.data_root,
                                   progress=not args.no_progress)
    return emit(args, result, save_architecture_transfer, format_architecture_transfer)


def cmd_seeds(args) -> int:
    from ..analyses.seed_spread import format_seed_spread, save_seed_spread, seed_spread

    result = seed_spread(args.task, dataset=args.dataset, folder=args.checkpoints,
                         limit=args.first, batch_size=args.batch_size, device=args.device,
                         seed=args.seed, classifiers=args.classifiers, data_root=args.data_root,
                         progress=not args.no_progress)
    return emit(args, result, save_seed_spread, format_seed_spread)


def cmd_randomized(args) -> int:
    from ..analyses.randomized_tasks import format_randomized, randomized_table, save_randomized

    result = randomized_table(args.task, dataset=args.dataset, folder=args.checkpoints,
                              limit=args.first, batch_size=args.batch_size, device=args.device,
                              seed=args.seed, classifiers=args.classifiers,
                              data_root=args.data_root, progress=not args.no_progress)
    return emit(args, result, save_randomized, format_randomized)


def cmd_corruption_processors(args) -> int:
    from ..analyses.corruption_processors import (
        RECORDS_FOLDER,
        corruption_processor_table,
        format_corruption_processors,
        save_corruption_processors,
    )

    where = _corruption_destination(args, "corruption-processors")
    result = corruption_processor_table(
        args.dataset, args.checkpoints, limit=args.first, batch_size=args.batch_size,
        device=args.device, seed=args.seed, classifiers=args.classifiers, types=args.types,
        levels=args.levels, records_dir=None if args.no_save else where.folder / RECORDS_FOLDER,
        progress=not args.no_progress)
    if not args.no_save:
        _wrote(save_corruption_processors(result, where.folder), where.folder / RECORDS_FOLDER)
    print_result(args, result, format_corruption_processors)
    return 0


def cmd_storage_check(args) -> int:
    from ..analyses.storage_check import (
        convert,
        format_storage_check,
        save_storage_check,
        storage_check,
        storage_check_stem,
    )
    from ..config import default_dataset

    if args.convert and not args.cast:
        raise RAExplorerError("--convert rewrites checkpoints after a float16 cast check; add --cast.")
    if args.convert and (args.sample or args.no_save):
        raise RAExplorerError("--convert needs the whole test split and the saved check; drop "
                         "--sample / --no-save.")
    result = storage_check(args.models, folder=args.checkpoints, state_dir=args.state_dir,
                           dataset_name=default_dataset(args.dataset), limit=args.sample,
                           device=args.device, progress=not args.no_progress,
                           source=args.classifier, cast=args.cast)
    # one destination: a second call would stamp a second run folder, and the cards' notes
    # would name a check that is not there
    where = None if args.no_save else destination_of(args, args.verb)
    emit(args, result, save_storage_check, format_storage_check, where=where)
    if args.convert:
        note = f"{where.folder}/{storage_check_stem(result)}.json"
        done = convert(result, args.checkpoints, note=note)
        kept = [r["name"] for r in result["rows"] if r["name"] not in done]
        print(f"Stored as float16: {', '.join(done) or 'none'}"
              + (f"; kept as float32 (outside the tolerance): {', '.join(kept)}" if kept else "")
              + ".", file=sys.stderr)
    return 0 if all(r["within_tolerance"] for r in result["rows"]) else 1


def _paired_group_options(p, task: str = "sr") -> None:
    """The options of the verbs that pair processors within groups (architecture-transfer,
    seeds, randomized) and run them all on the test split once."""
    p.add_argument("--task", type=task_spec, default=task, help=f"task spec (default: {task})")
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="the judging classifiers (default: the zoo's)")
    p.add_argument("--first", type=positive_int, default=None, metavar="N",
                   help="the first N test images (default: every one)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per forward pass (default: 500, fewer for large images)")
    protocol(p, "first", "classifiers", "seed")


def register(sub) -> None:
    p = sub.add_parser("evaluate", parents=[DATASET(), CHECKPOINTS(), DEVICE(), SAMPLE(), JSON(),
                                            PROGRESS(), RESUME()],
                       help="accuracy matrix and PSNR / SSIM on the test split")
    p.add_argument("--task", type=task_spec, default=None,
                   help="task spec (default: sr, denoise, jpeg and every other task in the zoo)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per forward pass (default: 500, fewer for large images so that "
                        "a batch holds at most 2^23 values: 55 at 224x224 RGB)")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the per-index degradations")
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="comma-separated classifiers (default: the zoo's; names may also come "
                        "from checkpoints/recognizers/, e.g. resnet20,resnet20-qualnet)")
    p.add_argument("--processors", type=names, default=None, metavar="A,B",
                   help="comma-separated processors (default: every processor of the task; "
                        "names may also be processors trained on canvases of the dataset, e.g. "
                        "RA through a detector)")
    p.add_argument("--update-cards", action="store_true",
                   help="write the measured test accuracy / PSNR / SSIM into the model cards")
    p.add_argument("--records", default=None, metavar="FILE.parquet",
                   help="also write the per-image record table there (default: not written)")
    p.add_argument("--workers", type=non_negative_int, default=None, metavar="N",
                   help="worker processes decoding and degrading test batches ahead of the "
                        "networks (default: $RA_WORKERS or 0; the table is the same)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("reproduce", parents=[DATASET(), CHECKPOINTS(), DEVICE(), SAMPLE(),
                                             PROGRESS()],
                       help="re-measure the RA paper's tables, the record tables and the "
                            "quality tables into results/, and draw the paper figures into "
                            "results/figures/")
    p.add_argument("--out", default=None,
                   help="folder for the result files (default: results/ for the full protocol, "
                        "else runs/reproduce/<time stamp>/)")
    p.add_argument("--fresh", action="store_true",
                   help="re-measure every task (else a task's saved evaluation is reused when "
                        "it was measured on the same checkpoints)")
    p.add_argument("--tasks", type=task_list, action=CommaList, default=None, metavar="A,B",
                   help="re-measure these task specs, comma-separated (default: none forced; "
                        "the others are reused when they can be)")
    p.add_argument("--update-cards", action="store_true",
                   help="write the measured test figures into the model cards")
    renamed(p, task="--tasks")
    protocol(p, "sample")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("quality", parents=[*analysis_groups(), SEED(), RESUME()],
                       help="every metric for every processor of a task (Table 2)")
    p.add_argument("--task", type=task_spec, required=True, help="task spec, e.g. sr, jpeg")
    p.add_argument("--metrics", type=names, default=None, metavar="A,B",
                   help="comma-separated metric names (default: all available; see 'list metrics')")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per forward pass (default: 250, fewer for large images so that "
                        "a batch holds at most 2^23 values: 55 at 224x224 RGB)")
    p.add_argument("--first", type=positive_int, default=QUALITY_IMAGES, metavar="N",
                   help="the first N test images (the shipped tables' protocol)")
    renamed(p, limit="--first")
    protocol(p, "first", "metrics", "seed")
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser("agreement", parents=[*analysis_groups(execution=False), SAMPLE(), SEED()],
                       help="per image: how well every quality metric predicts recognition "
                            "(Spearman with p_y and margin, AUROC), RA visibility per metric, "
                            "and margin consistency between classifiers")
    p.add_argument("--task", type=task_spec, required=True, help="task spec, e.g. sr, jpeg")
    p.add_argument("--first", type=positive_int, default=None, metavar="N",
                   help=f"the first N test images (default: {QUALITY_IMAGES}, the quality "
                        "tables' protocol)")
    p.add_argument("--metrics", type=names, default=None, metavar="A,B",
                   help="comma-separated metric names (default: all available; see 'list metrics')")
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="comma-separated classifiers (default: the zoo's)")
    p.add_argument("--processors", type=names, default=None, metavar="A,B",
                   help="comma-separated processors (default: every processor of the task and "
                        "the plain processor's seed replicates in checkpoints/seeds/, whose spread "
                        "is the RA-visibility floor; name them, e.g. sr-plain-seed1, to keep it)")
    p.add_argument("--boot", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples over images for the 95 %% CIs")
    p.add_argument("--batch-size", type=positive_int, default=250, help="images per forward pass")
    protocol(p, "first", "sample", "metrics", "classifiers", "processors", "boot", "seed")
    p.set_defaults(func=cmd_agreement)

    p = sub.add_parser("margins", parents=[DATASET(), CHECKPOINTS(), SAVE(), JSON(), SEED()],
                       help="decision-margin consistency: Pearson r of per-image margins between "
                            "every pair of classifiers per input, from the saved record table, "
                            "agreement images and boundary results")
    p.add_argument("--task", type=task_spec, required=True, help="task spec, e.g. sr, jpeg")
    p.add_argument("--results", type=existing_dir, default=None,
                   help="folder of the result files read (default: $RA_RESULTS or results/)")
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="the pairs among these classifiers alone (default: every classifier "
                        "of each file)")
    p.add_argument("--boot", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples over images for the 95 %% CIs")
    protocol(p, "classifiers", "boot", "seed")
    p.set_defaults(func=cmd_margins)

    p = sub.add_parser("loss-grid", parents=[*analysis_groups(), SEED()],
                       help="Uelwer et al.'s E / P / T loss grid: quality (Table 2) and error on "
                            "a standard and a robust classifier with rank correlation (Figure 1)")
    p.add_argument("--task", type=task_spec, default="sr", help="task spec")
    p.add_argument("--grid-folder", default=None,
                   help="folder of the grid's processors (default: <checkpoints>/loss-grid)")
    p.add_argument("--metrics", type=names, default=None, metavar="A,B",
                   help="comma-separated metric names (default: psnr, ssim, uqi, ifc, gmsd, "
                        "lpips-STANDARD, rlpips-ROBUST)")
    p.add_argument("--classifiers", type=names, default=["resnet20", "resnet20-robust"],
                   metavar="STANDARD,ROBUST",
                   help="the two classifiers judging the outputs (not loss networks)")
    p.add_argument("--first", type=positive_int, default=None, metavar="N",
                   help="the first N test images for the errors (default: the whole split)")
    p.add_argument("--quality-first", type=positive_int, default=QUALITY_IMAGES, metavar="N",
                   help="of them, the first N get every metric")
    p.add_argument("--batch-size", type=positive_int, default=250, help="images per forward pass")
    p.add_argument("--across-seeds", action="store_true",
                   help="the errors, PSNR and rank correlation of every training seed's grid "
                        "(checkpoints/loss-grid/seeds/, E from checkpoints/seeds/), with their "
                        "spread (loss_grid_seeds_<task>.*)")
    renamed(p, evaluators="--classifiers", limit="--first", quality_limit="--quality-first")
    protocol(p, "first", "quality_first", "metrics", "classifiers", "grid_folder", "seed")
    p.set_defaults(func=cmd_loss_grid)

    p = sub.add_parser("recognizer-side", parents=[*analysis_groups(), SEED()],
                       help="fix the image or fix the recognizer: every classifier (vanilla and "
                            "the recognizer-side ones) on LQ, plain and RA outputs, with mCE")
    p.add_argument("--classifier", default="resnet20",
                   help="the vanilla classifier mCE is relative to")
    p.add_argument("--tasks", type=task_list, default=list(DEGRADATIONS), metavar="A,B",
                   help="comma-separated task specs (the table's columns)")
    p.add_argument("--first", type=positive_int, default=None, metavar="N",
                   help="the first N test images (default: the whole split)")
    p.add_argument("--batch-size", type=positive_int, default=500, help="images per forward pass")
    p.add_argument("--across-seeds", action="store_true",
                   help="every training seed of the recognizer-side classifiers "
                        "(checkpoints/recognizers/seeds/ beside recognizers/): mCE and accuracy "
                        "over seeds and the table's claims per seed (recognizer_seeds.*)")
    renamed(p, vanilla="--classifier", degradations="--tasks", limit="--first")
    protocol(p, "first", "classifier", "tasks", "seed")
    p.set_defaults(func=cmd_recognizer_side)

    p = sub.add_parser("corruption-grid", parents=[*analysis_groups(), SAMPLE(), SEED()],
                       help="accuracy (bootstrap CIs), ECE and mCE per ImageNet-C corruption type "
                            "x severity, on the corrupted input and on given processors' outputs")
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="comma-separated classifiers; the first is the vanilla one mCE is "
                        "normalised to (default: resnet20, then the recognizer side's "
                        "classifiers the checkpoint folder holds: resnet20-augment, "
                        "resnet20-feature-kd, resnet20-qualnet, ...)")
    p.add_argument("--processors", type=names, default=[], metavar="A,B",
                   help="comma-separated processors of any same-size task, whose outputs are "
                        "rows beside the corrupted input (their training task is in the row "
                        "label; default: none)")
    p.add_argument("--types", type=names, default=None, metavar="A,B",
                   help="comma-separated corruption types (default: all 19: "
                        + ", ".join(CORRUPTIONS) + ")")
    p.add_argument("--levels", type=whole_numbers, default=[1, 2, 3, 4, 5], metavar="1,5",
                   help="comma-separated severities 1-5")
    p.add_argument("--boot", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples over images for the 95 %% CIs")
    p.add_argument("--batch-size", type=positive_int, default=500, help="images per forward pass")
    protocol(p, "sample", "classifiers", "processors", "types", "levels", "boot", "seed")
    p.set_defaults(func=cmd_corruption_grid)

    p = sub.add_parser("robustness", parents=[*analysis_groups(), SEED()],
                       help="clean and PGD-L2 accuracy of a classifier")
    p.add_argument("--classifier", required=True, help="the classifier attacked")
    p.add_argument("--pgd-eps", type=positive_float, default=None,
                   help="PGD-L2 radius in [0,1]-pixel L2 units (default: the classifier's "
                        "training radius)")
    p.add_argument("--pgd-steps", type=positive_int, default=20, help="PGD steps")
    p.add_argument("--first", type=positive_int, default=ROBUSTNESS_IMAGES, metavar="N",
                   help="the first N test images (the shipped protocol)")
    p.add_argument("--update-cards", action="store_true",
                   help="write the measured accuracies into the classifier's card")
    renamed(p, eps="--pgd-eps", steps="--pgd-steps", limit="--first", update_card="--update-cards")
    protocol(p, "first", "pgd_eps", "pgd_steps", "seed")
    p.set_defaults(func=cmd_robustness)

    p = sub.add_parser("detection-transfer", parents=[*analysis_groups(), SEED()],
                       help="processors before detectors on the test canvases: each "
                            "detector's mAP@[.5:.95] and mAP@.5 with bootstrap CIs and paired "
                            "differences to plain (the RA paper's Tables 2, 4, 8, 10)")
    p.add_argument("--task", type=task_spec, default="sr",
                   help="task spec, applied to whole canvases")
    p.add_argument("--processors", type=names, default=None, metavar="A,B",
                   help="comma-separated processors (default: every processor of the task "
                        "trained on the canvases' base dataset or on these canvases)")
    p.add_argument("--detectors", type=names, default=None, metavar="A,B",
                   help="comma-separated detectors (default: every detector fitting the "
                        "canvases)")
    p.add_argument("--baseline", default=None,
                   help="the processor the paired differences are to (default: the first "
                        "plain one)")
    p.add_argument("--first", type=positive_int, default=None, metavar="N",
                   help="the first N test canvases, and N base test images for the Table 9 "
                        "part (default: every one)")
    p.add_argument("--boot", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples over canvases for the 95 %% CIs")
    p.add_argument("--batch-size", type=positive_int, default=32, help="canvases per forward pass")
    protocol(p, "first", "processors", "detectors", "baseline", "boot", "seed")
    p.set_defaults(func=cmd_detection_transfer)

    p = sub.add_parser("category-transfer", parents=[*analysis_groups(execution=False), SEED()],
                       help="plain and RA processors trained on one half of the classes, "
                            "evaluated on both halves with each half's classifier (the RA "
                            "paper's Table 7; models in the checkpoint folder's categories/)")
    p.add_argument("--task", type=task_spec, default="sr", help="task spec")
    p.add_argument("--first", type=positive_int, default=None, metavar="N",
                   help="the first N test images of each half (default: every one)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per forward pass (default: 500, fewer for large images)")
    protocol(p, "first", "seed")
    p.set_defaults(func=cmd_category_transfer)

    p = sub.add_parser("architecture-transfer",
                       parents=[*analysis_groups(execution=False), SEED()],
                       help="plain, RA, unsupervised RA and RA-with-transformer processors of "
                            "several architectures (the zoo's and the checkpoint folder's "
                            "architectures/), each RA variant against its own architecture's "
                            "plain one on every classifier (the RA paper's Table 11)")
    _paired_group_options(p)
    p.set_defaults(func=cmd_architecture_transfer)

    p = sub.add_parser("seeds", parents=[*analysis_groups(execution=False), SEED()],
                       help="the zoo's main processors of a task and their replicates trained "
                            "with other seeds (checkpoints/seeds/): each method against the "
                            "plain processor of the same seed, then the mean and spread over "
                            "seeds")
    _paired_group_options(p)
    p.set_defaults(func=cmd_seeds)

    p = sub.add_parser("randomized", parents=[*analysis_groups(execution=False), SEED()],
                       help="processors trained on a fixed degradation and on its randomized "
                            "version (checkpoints/randomized/), plain and RA, on the randomized "
                            "task's test inputs (the RA paper's Table 15; sr-random, "
                            "denoise-random, jpeg-random or compound)")
    _paired_group_options(p, task="sr-random")
    p.set_defaults(func=cmd_randomized)

    p = sub.add_parser("corruption-processors",
                       parents=[*analysis_groups(execution=False), SEED()],
                       help="processors trained on corruption cells (checkpoints/corruptions/), "
                            "each cell's plain, RA and other methods on its own test inputs, on "
                            "every classifier (the RA paper's Tables 12-14)")
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="the judging classifiers (default: the zoo's)")
    p.add_argument("--types", type=names, default=None, metavar="A,B",
                   help="only the cells of these corruption types (default: every cell with "
                        "a plain processor)")
    p.add_argument("--levels", type=whole_numbers, default=None, metavar="1,5",
                   help="only the cells of these severities (default: every severity)")
    p.add_argument("--first", type=positive_int, default=None, metavar="N",
                   help="the first N test images (default: every one)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per forward pass (default: 500)")
    protocol(p, "first", "classifiers", "types", "levels", "seed")
    p.set_defaults(func=cmd_corruption_processors)

    p = sub.add_parser("float16-check", parents=[*analysis_groups(), SAMPLE()],
                       help="stored (float16) checkpoints vs their float32 training weights: "
                            "test accuracy and PSNR")
    p.add_argument("--models", type=names, default=None, metavar="A,B",
                   help="comma-separated checkpoints checked, of any kind (default: every "
                        "checkpoint with a training state)")
    p.add_argument("--state-dir", default="runs", help="where build-zoo kept the training states")
    p.add_argument("--cast", action="store_true",
                   help="checkpoints stored as float32: their weights against the same weights "
                        "rounded to float16 (no training state needed; default models: every "
                        "float32-stored checkpoint of --checkpoints)")
    p.add_argument("--convert", action="store_true",
                   help="with --cast: rewrite the checkpoints within the tolerance as float16 "
                        "(their cards note the check)")
    p.add_argument("--classifier", default=None,
                   help="the classifier judging plain processors (default: the RA source their "
                        "task's cards name)")
    renamed(p, source="--classifier")
    protocol(p, "sample", "models", "classifier")
    p.set_defaults(func=cmd_storage_check)
