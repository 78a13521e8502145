"""``python -m analysis figure KIND [KIND ...] --out FILE_OR_DIR``: paper figures as PDF / SVG /
PNG files, each with a CSV of its numbers beside it (builders in :mod:`analysis.reporting.paper`)."""

from __future__ import annotations

import sys
from pathlib import Path

from ..analyses import boundary_defaults as bd
from ..errors import InputError
from .options import CHECKPOINTS, DATASET, DEVICE, SEED
from .validators import existing_dir, names, positive_float, positive_int, task_spec, whole_numbers
from .vocabulary import renamed


def targets(kinds: list[str], out: str, formats: str | None) -> list[tuple[str, Path, list[str]]]:
    """(kind, file stem, formats) per kind: ``--out FILE.pdf`` for one kind, else a folder
    holding ``<figure name>.<format>``; the stem is filled in by the caller when None."""
    from ..reporting.paper.output import FORMATS, check_formats

    path = Path(out)
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        if len(kinds) > 1:
            raise InputError(f"--out {out} names one file but {len(kinds)} figure kinds were "
                             "asked for; give a folder instead.")
        return [(kinds[0], path.with_suffix(""), check_formats(formats or suffix))]
    return [(k, None, check_formats(formats or ",".join(FORMATS))) for k in kinds]


def cmd_figure(args) -> int:
    from ..errors import unknown_name
    from ..reporting.paper import KINDS, FigureOptions, build_figure, save_figure
    from ..reporting.paper.style import figure_width

    kinds = [kind for group in args.kinds for kind in group]   # KIND KIND or KIND,KIND
    for kind in kinds:
        if kind not in KINDS:
            raise unknown_name("figure kind", kind, list(KINDS))
    plan = targets(kinds, args.out, args.format)
    options = FigureOptions(
        width=figure_width(args.width, args.preset), dpi=args.dpi, seed=args.seed, task=args.task,
        indices=args.indices, filter=args.filter, rows=args.rows,
        classifier=args.classifier, classifiers=args.classifiers, target=args.target,
        processors=args.processors, metrics=args.metrics, classes=args.classes,
        extent=args.extent_l2, extent_ra=args.extent_ra, resolution=args.resolution,
        results=args.results, checkpoints=args.checkpoints, dataset=args.dataset,
        data_root=args.data_root, device=args.device)
    written = []
    for kind, stem, formats in plan:
        fig = build_figure(kind, options)
        stem = stem or Path(args.out) / fig.name
        written += save_figure(fig, stem, formats, args.dpi)
    print("Wrote " + ", ".join(str(p) for p in written), file=sys.stderr)
    for p in written:
        print(p)
    return 0


def register(sub) -> None:
    from ..reporting.paper import KINDS
    from ..reporting.paper.style import DEFAULT_DPI, PRESETS

    p = sub.add_parser("figure", parents=[DATASET(), CHECKPOINTS(), DEVICE(), SEED()],
                       help="paper figures as PDF / SVG / PNG files with a CSV of their numbers")
    p.add_argument("kinds", nargs="+", type=names, metavar="KIND",
                   help=f"one or more of {', '.join(KINDS)} (space- or comma-separated)")
    p.add_argument("--out", required=True,
                   help="FILE.pdf / .svg / .png (one kind), or a folder for <figure name>.<format>")
    p.add_argument("--format", default=None,
                   help="comma-separated pdf, svg, png (default: the --out suffix, else all three)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--width", type=positive_float, default=None,
                      help="figure width in inches at the printed size (default: --preset's)")
    size.add_argument("--preset", default=None, choices=sorted(PRESETS),
                      help=", ".join(f"{k} = {v} in" for k, v in PRESETS.items())
                      + " (a two-column page's column / full width; default double)")
    p.add_argument("--dpi", type=positive_int, default=DEFAULT_DPI, help="PNG pixels per inch")
    p.add_argument("--results", type=existing_dir, default=None,
                   help="folder of the result files read (default: $RA_RESULTS or results/)")
    p.add_argument("--task", type=task_spec, default="sr", help="task spec")
    p.add_argument("--indices", type=whole_numbers, default=None, metavar="I,J",
                   help="examples, boundary-maps: test image indices, comma-separated (default: "
                        "chosen by --filter)")
    p.add_argument("--filter", default=None, help="examples, boundary-maps: choose images by "
                   "ra-right-plain-wrong (default), plain-wrong, both-right or methods-disagree")
    p.add_argument("--rows", type=positive_int, default=3,
                   help="examples: images chosen by the filter (boundary-maps: 1 unless --filter)")
    p.add_argument("--classifier", default=None, help="examples, boundary-maps: whose predictions "
                   "(default: the RA source); lambda: the RA source; tsne, bd: the (source) "
                   "classifier of the result file")
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="boundary-maps, lambda, transfer: comma-separated classifiers (default: "
                        "the RA source and two others / the zoo's); tsne: two or more give one "
                        "panel each, HQ vs the first of --processors (QualNet Fig. 2)")
    p.add_argument("--target", default=None,
                   help="bd: the target classifier of the pair (default: the result file's)")
    p.add_argument("--processors", type=names, default=None, metavar="A,B",
                   help="comma-separated; examples: processors shown (default: plain and RA); "
                        "quality: rows; tsne: sources compared with HQ")
    p.add_argument("--metrics", type=names, default=None, metavar="A,B",
                   help="quality: comma-separated metrics (default: psnr, ssim, lpips-resnet20)")
    p.add_argument("--classes", type=whole_numbers, default=None, metavar="I,J",
                   help="tsne: comma-separated class indices (default: 0,1,2,3)")
    extent = p.add_mutually_exclusive_group()
    extent.add_argument("--extent-ra", type=positive_float, default=None, metavar="X",
                        help="boundary-maps: half-width as X times each image's ||x_RA - x||, "
                             f"the app's unit (default: {bd.EXTENT_MULTIPLE:g}, as the app, so "
                             "that the plain and the RA output lie inside at any image size)")
    extent.add_argument("--extent-l2", type=positive_float, default=None, metavar="E",
                        help="boundary-maps: half-width in absolute [0,1]-pixel L2, the same "
                             "for every image (default: unset, --extent-ra's)")
    p.add_argument("--resolution", type=positive_int, default=bd.FIGURE_RESOLUTION,
                   help="boundary-maps: grid points per axis, as results/figures/"
                        f"boundary-maps_* (the app opens at {bd.MAP_RESOLUTION})")
    renamed(p, extent="--extent-l2")
    p.set_defaults(func=cmd_figure)
