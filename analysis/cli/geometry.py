"""Verbs about the classifiers' input and feature space: ``bd`` (BD / IBD, Table 17) and
``tsne`` (t-SNE of features). The search's defaults are :mod:`analysis.analyses.boundary_defaults`'s."""

from __future__ import annotations

import argparse
import sys

from ..analyses import boundary_defaults as bd
from ..config import default_dataset
from ..outputs.run_folders import run_folder
from .options import RESUME, SAMPLE, SEED, analysis_groups, emit, protocol
from .validators import names, non_negative_int, positive_float, positive_int, task_spec
from .vocabulary import renamed


def cmd_bd(args) -> int:
    from ..analyses.boundary_table import (
        boundary_report,
        censored_note,
        format_boundary_report,
        save_boundary_report,
    )
    from ..data.tasks import create_task
    from ..pipeline.runner import world
    from ..zoo.catalogue import task_ra_source

    dataset = default_dataset(args.dataset)
    source = args.source
    if source is None and not args.matrix:
        source = task_ra_source(create_task(args.task).spec, dataset, args.checkpoints)
    report = boundary_report(args.task, source, args.target, matrix=args.matrix,
                             folder=args.checkpoints, dataset=dataset,
                             plain=args.plain, ra=args.ra, limit=args.sample,
                             all_images=args.all_images, max_dist=args.max_dist, tol=args.tol,
                             steps=args.scan_steps, schedule=args.schedule,
                             first_step=args.first_step, growth=args.growth, clip=args.clip,
                             seed=args.seed, method=args.method, nearest=args.nearest,
                             attack=args.attack, attack_steps=args.attack_steps,
                             overshoot=args.overshoot, perceptual=args.perceptual,
                             device=args.device, progress=not args.no_progress,
                             batch_size=args.batch_size, resume=args.resume)
    for name, how in report.get("methods", {}).items():
        if how not in ("search", "exact"):
            print(f"bd: {name}: {how}", file=sys.stderr)
    if world()[0] != 0:
        return 0
    for pair in report["pairs"]:
        print(f"bd: {pair['selected']} of {report['limit']} test images qualified for "
              f"{pair['source']} / {pair['target']} ("
              + ("all images" if report["all_images"] else "Rs(x) = Rt(x) != label; "
                 "--all-images takes every image") + ").", file=sys.stderr)
    if args.json and censored_note(report):        # the table says it itself
        print(f"bd: {censored_note(report)}", file=sys.stderr)
    return emit(args, report, save_boundary_report, format_boundary_report)


def cmd_bd_referee(args) -> int:
    from ..analyses.boundary_referee import (
        format_referee_report,
        referee_report,
        save_referee_report,
    )

    report = referee_report(args.task, args.source, args.target, limit=args.sample,
                            folder=args.checkpoints, dataset=default_dataset(args.dataset),
                            max_dist=args.max_dist, max_regions=args.max_regions,
                            device=args.device,
                            progress=not args.no_progress)
    if not args.no_save:
        paths = save_referee_report(report, args.out or run_folder("bd-referee"))
        print("Wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    print(format_referee_report(report))
    return 0


def cmd_tsne(args) -> int:
    from ..analyses.features import feature_report, format_measures, save_feature_report
    from ..data.tasks import create_task
    from ..zoo.catalogue import task_ra_source

    dataset = default_dataset(args.dataset)
    classifier = args.classifier or task_ra_source(create_task(args.task).spec, dataset,
                                                   args.checkpoints, option="--classifier")
    report = feature_report(args.task, classifier, n=args.sample, seed=args.seed,
                            backend=args.backend, folder=args.checkpoints,
                            dataset=dataset, device=args.device,
                            processors=(None if args.processors is None else [] if
                                        args.processors == ["none"] else args.processors),
                            progress=not args.no_progress)
    return emit(args, report, save_feature_report, format_measures, indent=None)


def register(sub) -> None:
    p = sub.add_parser("bd", parents=[*analysis_groups(), SAMPLE(), RESUME()],
                       help="boundary distance tables: BD / IBD along RA and random directions "
                            "(Table 17; the maps are 'figure boundary-maps')")
    p.add_argument("--task", type=task_spec, required=True, help="task spec, e.g. sr, jpeg")
    p.add_argument("--source", default=None,
                   help="the pair's source classifier Rs (default: the one the task's RA cards "
                        "name)")
    p.add_argument("--target", default=None,
                   help="the pair's target classifier Rt (default: none; needed unless --matrix)")
    p.add_argument("--matrix", action="store_true", help="every pair of zoo classifiers")
    p.add_argument("--plain", default=None, help="plain processor (default: <task>-plain)")
    p.add_argument("--ra", default=None, help="RA processor (default: <task>-ra)")
    p.add_argument("--all-images", action="store_true",
                   help="use every image, not only those with Rs(x) = Rt(x) != label")
    p.add_argument("--max-dist", type=positive_float, default=bd.MAX_DIST,
                   help="search range, [0,1]-pixel L2 (no crossing within it: censored; the "
                        f"output says how many and the range hit) (default: {bd.MAX_DIST_RULE} "
                        f"for C x H x W images: {bd.max_dist_for(784):g} at 28x28x1, "
                        f"{bd.max_dist_for(150528):g} at 224x224x3)")
    p.add_argument("--tol", type=positive_float, default=bd.TOL,
                   help="bisection tolerance, [0,1]-pixel L2")
    p.add_argument("--schedule", default=bd.SCHEDULE, choices=["geometric", "uniform"],
                   help="coarse scan: geometric (gap max(first-step, growth * t)) or uniform "
                        "(--scan-steps equal steps)")
    p.add_argument("--first-step", type=positive_float, default=bd.FIRST_STEP,
                   help="geometric scan: first and smallest gap, [0,1]-pixel L2")
    p.add_argument("--growth", type=positive_float, default=bd.GROWTH,
                   help="geometric scan: gap as a fraction (0-1) of t")
    p.add_argument("--scan-steps", type=positive_int, default=bd.SCAN_STEPS,
                   help="uniform scan: number of equal steps up to --max-dist")
    p.add_argument("--clip", action="store_true", help="clip x + delta d to [0, 1]")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the random directions")
    p.add_argument("--method", default=bd.METHOD, choices=list(bd.METHODS),
                   help="search: the sampled scan + bisection (fast; can step over a thin class "
                        "stretch); exact: the region walk, the first crossing with a certificate "
                        "(about 10^3 times slower; piecewise-linear classifiers only, others are "
                        "searched and the table says so)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images searched together, the unit of --resume and of the partial "
                        "results (default: 250, fewer for large images: 13 at 224x224 RGB)")
    p.add_argument("--nearest", action=argparse.BooleanOptionalAction, default=bd.NEAREST,
                   help="also the nearest-boundary distance NB of each classifier (a Foolbox "
                        "minimum-norm attack, then bisection along x -> x_adv: an upper bound on "
                        "the smallest L2 distance to another class) and BD / NB per direction "
                        "(about as many forward+backward passes per image and classifier as "
                        "--attack-steps)")
    p.add_argument("--attack", default=bd.NEAREST_ATTACK, choices=["ddn", "fmn", "deepfool"],
                   help="the nearest-boundary attack (Foolbox's DDN, L2 FMN or L2 DeepFool)")
    p.add_argument("--attack-steps", type=positive_int, default=bd.NEAREST_STEPS,
                   help="the attack's iterations")
    p.add_argument("--overshoot", type=positive_float, default=bd.OVERSHOOT,
                   help="DeepFool's overshoot (the other attacks have none)")
    p.add_argument("--perceptual", default=bd.PERCEPTUAL, metavar="METRIC",
                   help="BD in perceptual units beside L2: the LPIPS-style metric of a zoo "
                        "classifier, lpips-<classifier> (default: the source's own), or none")
    renamed(p, steps="--scan-steps")
    protocol(p, "sample", "plain", "ra", "all_images", "max_dist", "tol", "schedule",
             "first_step", "growth", "scan_steps", "clip", "seed", "method", "nearest",
             "attack", "attack_steps", "overshoot", "perceptual")
    p.set_defaults(func=cmd_bd)

    p = sub.add_parser("bd-referee", parents=[*analysis_groups(), SAMPLE()],
                       help="the sampled BD search against the exact region walk on the Table 17 "
                            "selection: later crossings and by how much (writes under runs/)")
    p.add_argument("--task", type=task_spec, required=True, help="task spec, e.g. sr, jpeg")
    p.add_argument("--source", default="resnet20", help="source classifier Rs")
    p.add_argument("--target", default="densenet-bc", help="target classifier Rt")
    p.add_argument("--max-dist", type=positive_float, default=bd.MAX_DIST,
                   help="range of both methods, [0,1]-pixel L2 (default: "
                        f"{bd.MAX_DIST_RULE} for C x H x W images)")
    p.add_argument("--max-regions", type=positive_int, default=100_000,
                   help="linear regions per pair before the walk gives up (the pair is then "
                        "unfinished; how far it went still bounds BD from below)")
    p.set_defaults(func=cmd_bd_referee)

    p = sub.add_parser("tsne", parents=[*analysis_groups(), SEED()],
                       help="t-SNE of HQ / LQ / processed features, with measures")
    p.add_argument("--task", type=task_spec, required=True, help="task spec, e.g. sr, jpeg")
    p.add_argument("--classifier", default=None,
                   help="whose features (default: the RA source the task's cards name)")
    p.add_argument("--sample", type=positive_int, default=1000, metavar="N",
                   help="a seeded class-stratified sample of N test images per source")
    p.add_argument("--backend", default="opentsne", choices=["opentsne", "sklearn"],
                   help="t-SNE implementation")
    p.add_argument("--processors", type=names, default=None, metavar="A,B",
                   help="comma-separated processor names (default: one per method; 'none': "
                        "HQ and LQ only, as QualNet's Figure 2)")
    renamed(p, n="--sample")
    protocol(p, "sample", "backend", "processors", "seed")
    p.set_defaults(func=cmd_tsne)
