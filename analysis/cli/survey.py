"""``python -m analysis survey <verb>``: create, list, export, summarise, close, archive,
delete studies, and (re)make the demo study. :func:`register` adds the verbs to a CLI."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

from ..errors import RAExplorerError
from .validators import fraction, names, non_negative_float, non_negative_int, positive_int
from .vocabulary import OneLineParser, renamed


def _session(args):
    from ..survey.db import make_engine, session_factory

    return session_factory(make_engine(args.db))()


def _study(session, name):
    from ..survey.store import get_study

    study = get_study(session, name)
    if study is None:
        raise RAExplorerError(f"There is no study named {name[:100]!r}; 'python -m analysis "
                              "survey list' shows the studies.")
    return study


def _progress_line(done: int, total: int) -> None:
    print(f"  screened {done:,} of {total:,} test images", file=sys.stderr, flush=True)


def cmd_create(args) -> int:
    from ..explore.workspace import Workspace
    from ..survey.content import study_from_zoo
    from ..survey.store import trial_count
    from ..survey.validate import study_name

    study_name(args.name)                 # a bad name fails before the models load
    t0 = time.perf_counter()
    ws = Workspace(args.task, args.dataset, args.checkpoints)
    methods = args.processors
    classifier = args.classifier
    if classifier is None:        # the RA source the chosen processors' cards name
        from ..zoo.catalogue import find_checkpoints, ra_source

        cards = [c for c in find_checkpoints(args.checkpoints, kind="processor")
                 if c["name"] in methods]
        classifier = ra_source(cards, what=", ".join(methods))
    with _session(args) as session:
        study = study_from_zoo(session, ws, args.name, args.kind, methods,
                               n_images=args.images, n_trials=args.trials,
                               catch_rate=args.catch_rate, seed=args.seed,
                               classifier=classifier, images=args.choose,
                               n_practice=args.practice, progress=_progress_line,
                               blocks=args.blocks, sides=args.sides,
                               abandon_after_min=args.abandon_min,
                               display_check=args.display_check, afc=args.afc,
                               trials_per_image=args.trials_per_image, pairs=args.pairs,
                               batch=args.batch)
        n = trial_count(session, study)
        print(f"Created study {study.name!r} ({study.kind}, {n} trials including catch and "
              f"{args.practice} practice trial{'' if args.practice == 1 else 's'}) in "
              f"{time.perf_counter() - t0:.1f} s; raters "
              f"open the app at /survey?study={study.name}")
    return 0


def cmd_export(args) -> int:
    from ..survey.store import export_csv

    with _session(args) as session:
        sys.stdout.write(export_csv(session, _study(session, args.name)))
    return 0


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, (list, tuple)) and len(v) == 2:
        return f"[{_fmt(v[0])}, {_fmt(v[1])}]"
    return str(v)


def table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A plain-text table with aligned columns."""
    if not rows:
        return "  (none)"
    columns = columns or list(rows[0])
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, width))]
    lines.append("  ".join("-" * w for w in width))
    lines += ["  ".join(x.ljust(w) for x, w in zip(row, width)) for row in cells]
    return "\n".join(("  " + line).rstrip() for line in lines)


def format_summary(name: str, kind: str, s: dict) -> str:
    alpha = s["agreement_alpha"]
    out = [f"Study {name!r} ({kind}): {s['answers']} answers from {s['raters']} raters, "
           f"{s['kept_answers']} regular answers kept.",
           f"Exclusion rule: {s['exclusion_rule']}",
           f"Excluded: {', '.join(s['excluded']) or 'none'}.",
           "Krippendorff's alpha (nominal): " + ("undefined (needs two raters on the same trials)"
                                                if alpha is None or alpha != alpha else f"{alpha:.3f}"),
           "", "Raters", table(s["per_rater"])]
    if kind == "label":
        out += ["", "Label satisfaction per method (Wilson 95 % CI)",
                table([{"method": m, **v} for m, v in s["label_satisfaction"].items()])]
    else:
        out += ["", "Preference per method pair (ties left out, Wilson 95 % CI)",
                table(s["preferences"]), "", "Bradley-Terry scores (bootstrap 95 % CI)",
                table([{"method": m, **v} for m, v in s["bradley_terry"].items()]),
                "", "Thurstone case V scores (JOD: 1 = 75 % preference; bootstrap 95 % CI)",
                table([{"method": m, **v} for m, v in s["thurstone"]["scores"].items()]),
                "", "Pairwise tests (bootstrap, Holm-corrected)", table(s["thurstone"]["pairs"]),
                "", "Rater outlier scores (leave-one-out log-likelihood per judgment)",
                table([{"rater": r, **v} for r, v in s["thurstone"]["raters"].items()])]
    return "\n".join(out)


def cmd_summary(args) -> int:
    from ..survey.stats import json_ready, study_summary
    from ..survey.store import answer_rows

    with _session(args) as session:
        study = _study(session, args.name)
        if study.kind == "visibility":
            return _visibility_summary(args, study, answer_rows(session, study))
        summary = study_summary(answer_rows(session, study), study.kind,
                                min_catch_pass=args.min_catch_pass,
                                min_median_rt_ms=args.min_median_rt_ms or None)
        if args.json:
            print(json.dumps(json_ready(summary), indent=2, allow_nan=False))
        else:
            print(format_summary(study.name, study.kind, summary))
    return 0


def cmd_margins(args) -> int:
    from ..explore.workspace import Workspace
    from ..survey.margins import label_margin_consistency
    from ..survey.stats import json_ready, kept_rows
    from ..survey.store import answer_rows

    with _session(args) as session:
        study = _study(session, args.name)
        if study.kind != "label":
            raise RAExplorerError(f"{study.name!r} is a {study.kind} study; margin consistency "
                                  "with people needs a label study.")
        rows = kept_rows(answer_rows(session, study), args.min_catch_pass,
                         args.min_median_rt_ms or None)
        ws = Workspace(study.task, study.config.get("dataset"), args.checkpoints)
        clfs = args.classifiers or list(ws.classifiers)
        unknown = [c for c in clfs if c not in ws.classifiers]
        if unknown:
            raise RAExplorerError(f"No classifier {unknown[0]!r} in the zoo; choose from "
                                  f"{', '.join(ws.classifiers)}.")
        out = label_margin_consistency(ws, rows, clfs, n_boot=args.boot)
    if args.json:
        print(json.dumps(json_ready({"study": study.name, **out}), indent=2, allow_nan=False))
        return 0
    print(f"Decision-margin consistency of people and classifiers on {study.name!r}: "
          f"{out['definition']} ({out['n_boot']} resamples).")
    print(table([{"classifier": r["classifier"], "side": r["side"], "trials": r["trials"],
                  "items": r["items"], "pearson": r["pearson"]["value"],
                  "ci95": r["pearson"]["ci95"]}
                 for r in out["consistency"]],
                ["classifier", "side", "trials", "items", "pearson", "ci95"]))
    return 0


def _visibility_summary(args, study, rows) -> int:
    """A visibility study's thresholds a* per rater and image (blend units; the L2 units and
    BD beside them need the models: the Survey results page)."""
    from ..survey.stats import json_ready
    from ..survey.visibility import thresholds

    out = [{k: r[k] for k in ("rater", "image_index", "trials", "correct", "seen", "a_star",
                              "a_ci95")} for r in thresholds(rows, study.config, {})]
    if args.json:
        print(json.dumps(json_ready({"thresholds": out}), indent=2, allow_nan=False))
        return 0
    for r in out:
        r["a_ci95"] = "-" if r["a_star"] is None else "[{:.3f}, {:.3f}]".format(*r["a_ci95"])
        r["a_star"] = "-" if r["a_star"] is None else f"{r['a_star']:.3f}"
    print(f"Visibility thresholds of {study.name!r} (a* on the blend x_plain + a (x_RA - "
          "x_plain), 95 % CI); in [0,1]-pixel L2 beside BD on the Survey results page.")
    print(table(out, ["rater", "image_index", "trials", "correct", "seen", "a_star", "a_ci95"]))
    return 0


def cmd_list(args) -> int:
    from ..survey.store import list_studies, status, study_progress

    with _session(args) as session:
        rows = []
        for st in list_studies(session, archived=args.all):
            p = study_progress(session, st)
            rows.append({"name": st.name, "kind": st.kind, "task": st.task, "status": status(st),
                         "raters": p["raters"], "finished": p["finished"],
                         "answers": p["answers"], "catch_pass": p["catch_pass_rate"]})
        print(table(rows, ["name", "kind", "task", "status", "raters", "finished", "answers",
                           "catch_pass"]))
    return 0


def _set(new):
    def handler(args) -> int:
        from ..survey.store import set_status

        with _session(args) as session:
            study = _study(session, args.name)
            set_status(session, study, new)
            print(f"Study {study.name!r} is {new}.")
        return 0
    return handler


def cmd_delete(args) -> int:
    from ..survey.store import delete_study

    with _session(args) as session:
        study = _study(session, args.name)
        delete_study(session, study, args.confirm or "")
        print(f"Deleted study {args.name!r} with its raters and answers.")
    return 0


def cmd_demo(args) -> int:
    from ..survey.demo import DEMO_NAME, ensure_demo

    t0 = time.perf_counter()
    with _session(args) as session:
        made = ensure_demo(session, reset=args.reset, force=True, dataset=args.dataset,
                           checkpoints=args.checkpoints)
    print(f"{'Made' if made else 'Kept'} the demo study {DEMO_NAME!r} "
          f"({time.perf_counter() - t0:.1f} s).")
    return 0


def _db(p):
    p.add_argument("--db", default=None, help="SQLAlchemy URL (default: $SURVEY_DB_URL or "
                   "SQLite in runs/survey.db)")


def _name(p, what="the study's name"):
    p.add_argument("--name", required=True, help=what)


def _exclusions(p):
    """The rater exclusion rules of the statistics (catch trials, response time)."""
    p.add_argument("--min-catch-pass", type=fraction, default=0.75,
                   help="raters passing a smaller share of catch trials are excluded, a "
                        "fraction 0-1")
    p.add_argument("--min-median-rt-ms", type=non_negative_float, default=400.0,
                   help="raters with a faster median response time, in ms, are excluded (0: off)")


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``survey`` and its verbs (each with its handler as ``func``) to ``subparsers``."""
    from ..survey.content import IMAGE_CHOICES
    from ..survey.design import KINDS

    survey = subparsers.add_parser("survey", help="create, list, export, summarise, close, "
                                   "archive or delete human-preference studies")
    verbs = survey.add_subparsers(dest="action", required=True, metavar="VERB",
                                  parser_class=OneLineParser)

    p = verbs.add_parser("create", help="design a study from the zoo and store it")
    _name(p, "study name (1-100 printable characters)")
    p.add_argument("--kind", default="2afc", choices=list(KINDS), help="study design")
    p.add_argument("--task", default="sr", help="task spec of the images")
    p.add_argument("--processors", type=names, default=["sr-plain", "sr-ra"], metavar="A,B",
                   help="the processors compared, comma-separated")
    p.add_argument("--classifier", default=None,
                   help="labels of a label study, and the image filters (default: the RA source "
                        "the processors' cards name)")
    p.add_argument("--images", type=positive_int, default=50,
                   help="test images to draw trials from (chosen by --choose)")
    p.add_argument("--choose", default="random", choices=list(IMAGE_CHOICES),
                   help="how the images are chosen (2AFC kinds)")
    p.add_argument("--trials", type=positive_int, default=60, help="trials per rater")
    p.add_argument("--catch-rate", type=fraction, default=0.1,
                   help="share of catch trials, a fraction 0-1")
    p.add_argument("--practice", type=non_negative_int, default=0,
                   help="practice trials, with feedback")
    p.add_argument("--seed", type=non_negative_int, default=0,
                   help="seed of the image and trial draw")
    p.add_argument("--blocks", type=positive_int, default=1,
                   help="trial-order blocks, ordered per condition by a balanced latin square")
    p.add_argument("--sides", action="store_true",
                   help="counterbalance left and right (each order also with the sides swapped)")
    p.add_argument("--abandon-min", type=float, default=30.0,
                   help="minutes idle after which a session is abandoned and its condition "
                        "reassigned (0: never)")
    p.add_argument("--display-check", default="flag", choices=["flag", "refuse", "ignore"],
                   help="before the first trial: flag or refuse a rater whose browser resamples "
                        "the images (display scaling or zoom), or ignore it")
    p.add_argument("--afc", type=int, default=2, choices=[2, 3],
                   help="visibility study: 2AFC (which of two differs from the reference) or "
                        "3AFC (which of three differs from the others)")
    p.add_argument("--trials-per-image", type=positive_int, default=20,
                   help="visibility study: staircase trials per image")
    p.add_argument("--pairs", default="uniform", choices=["uniform", "active"],
                   help="2AFC method pairs: uniform (every pair equally often) or active "
                        "(chosen when shown, by expected information gain, in batches)")
    p.add_argument("--batch", type=positive_int, default=10,
                   help="active pairs: pairs per batch (refitted when a batch is used up)")
    p.add_argument("--dataset", default="fashion-mnist", help="dataset spec")
    p.add_argument("--checkpoints", default=None,
                   help="checkpoint folder (default: $RA_CHECKPOINTS or checkpoints/)")
    renamed(p, methods="--processors")
    _db(p)
    p.set_defaults(func=cmd_create)

    p = verbs.add_parser("export", help="every answer as CSV on stdout (response times included)")
    _name(p)
    _db(p)
    p.set_defaults(func=cmd_export)

    p = verbs.add_parser("summary", help="the statistics as tables (--json for machines)")
    _name(p)
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    _exclusions(p)
    _db(p)
    p.set_defaults(func=cmd_summary)

    p = verbs.add_parser("margins", help="a label study's per-item human agreement against "
                                         "each classifier's logit margin (Pearson r, CIs)")
    _name(p)
    p.add_argument("--classifiers", type=names, default=None, metavar="A,B",
                   help="comma-separated classifiers (default: the zoo's)")
    p.add_argument("--checkpoints", default=None,
                   help="checkpoint folder (default: $RA_CHECKPOINTS or checkpoints/)")
    p.add_argument("--boot", type=positive_int, default=1000, metavar="N",
                   help="bootstrap resamples over trials for the 95 %% CIs")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    _exclusions(p)
    _db(p)
    p.set_defaults(func=cmd_margins)

    p = verbs.add_parser("list", help="the studies with their progress")
    p.add_argument("--all", action="store_true", help="archived studies too")
    _db(p)
    p.set_defaults(func=cmd_list)

    for verb, new, text in (("close", "closed", "take no new raters (answers kept)"),
                            ("open", "open", "take raters again"),
                            ("archive", "archived", "hide a study from the list")):
        p = verbs.add_parser(verb, help=text)
        _name(p)
        _db(p)
        p.set_defaults(func=_set(new))

    p = verbs.add_parser("delete", help="delete a study (after an export; --confirm NAME)")
    _name(p)
    p.add_argument("--confirm", default=None,
                   help="the study's name again (default: none; the deletion needs it)")
    _db(p)
    p.set_defaults(func=cmd_delete)

    p = verbs.add_parser("demo", help="make the demo study (--reset: remake it, answers lost)")
    p.add_argument("--reset", action="store_true", help="remake it; its answers are lost")
    p.add_argument("--dataset", default="fashion-mnist", help="dataset spec")
    p.add_argument("--checkpoints", default=None,
                   help="checkpoint folder (default: $RA_CHECKPOINTS or checkpoints/)")
    _db(p)
    p.set_defaults(func=cmd_demo)
    return survey
