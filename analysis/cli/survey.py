"""The ``survey`` verb: create a study from the zoo, export its answers, or summarise them."""

from __future__ import annotations

import json
import sys

from ..errors import RAExplorerError


def cmd_survey(args) -> int:
    from ..survey.db import make_engine, session_factory
    from ..survey.store import export_csv, get_study

    Session = session_factory(make_engine(args.db))
    with Session() as session:
        if args.action == "create":
            from ..explore.workspace import Workspace
            from ..survey.content import study_from_zoo

            ws = Workspace(args.task, args.dataset, args.checkpoints)
            study = study_from_zoo(session, ws, args.name, args.kind, args.methods.split(","),
                                   n_images=args.images, n_trials=args.trials,
                                   catch_rate=args.catch_rate, seed=args.seed,
                                   classifier=args.classifier)
            print(f"Created study {study.name!r} ({study.kind}, {args.trials} trials plus catch "
                  f"trials at rate {args.catch_rate}); raters open the app's Survey page with "
                  f"?study={study.name}")
            return 0
        study = get_study(session, args.name)
        if study is None:
            raise RAExplorerError(f"There is no study named {args.name!r}; create it with "
                                  "'python -m analysis survey create'.")
        if args.action == "export":
            sys.stdout.write(export_csv(session, study))
        else:
            from ..survey.stats import study_summary
            from ..survey.store import answer_rows

            json.dump(study_summary(answer_rows(session, study), study.kind), sys.stdout,
                      indent=2)
            print()
    return 0


def register(sub) -> None:
    p = sub.add_parser("survey", help="create a study, export its answers, or summarise them")
    p.add_argument("action", choices=["create", "export", "summary"])
    p.add_argument("--name", required=True, help="study name")
    p.add_argument("--kind", default="2afc", choices=["2afc", "2afc-noref", "label"])
    p.add_argument("--task", default="sr")
    p.add_argument("--methods", default="sr-plain,sr-ra", help="processors, comma-separated")
    p.add_argument("--classifier", default="resnet20", help="labels of a label study")
    p.add_argument("--images", type=int, default=50)
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--catch-rate", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--checkpoints", default=None)
    p.add_argument("--db", default=None, help="SQLAlchemy URL (default: $SURVEY_DB_URL or "
                   "SQLite in runs/survey.db)")
    p.set_defaults(func=cmd_survey)
