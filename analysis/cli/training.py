"""Verbs that make checkpoints: ``train-classifier``, ``train-processor``, ``build-zoo``,
``import-weights``."""

from __future__ import annotations

from .options import CHECKPOINTS, DATASET, DEVICE, PROGRESS, SEED, key_values
from .validators import non_negative_float, positive_float, positive_int, sample_limit, task_spec


def _training_options(p):
    p.add_argument("--out", required=True, help="checkpoint path stem (writes .safetensors + .json)")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=None)
    p.add_argument("--lr", type=positive_float, default=None)
    p.add_argument("--arch-kw", nargs="*", metavar="KEY=VALUE", help="constructor options")
    p.add_argument("--limit", type=sample_limit, default=None,
                   help="train on a seeded class-stratified sample of N training images")
    p.add_argument("--val-limit", type=positive_int, default=2000, help="validation images per epoch")
    p.add_argument("--resume", action="store_true", help="continue from the saved state")
    p.add_argument("--max-steps", type=positive_int, default=None, help="stop after N steps (smoke runs)")
    p.add_argument("--float16", action="store_true", help="store weights as float16")
    p.add_argument("--state-dir", default="runs", help="where resumable training state goes")


def _common(args) -> dict:
    from ..config import default_dataset

    return {"dataset": default_dataset(args.dataset), "out": args.out, "epochs": args.epochs,
            "seed": args.seed, "arch_kwargs": key_values(args.arch_kw),
            "data_root": args.data_root, "limit": args.limit, "val_limit": args.val_limit,
            "device": args.device, "resume": args.resume, "max_steps": args.max_steps,
            "dtype": "float16" if args.float16 else "float32", "state_dir": args.state_dir,
            "progress": not args.no_progress}


def cmd_train_classifier(args) -> int:
    from ..training.classifiers import train_classifier

    if args.method != "standard":
        from ..errors import RAExplorerError
        from ..training.recognizer_side import train_recognizer

        if args.adv_eps > 0:
            raise RAExplorerError("--adv-eps trains the standard method adversarially; it does "
                                  f"not combine with --method {args.method}.")
        options = {"degradation": args.degradation, "teacher": args.teacher,
                   "decoder": args.decoder, "processor": args.processor, "init": args.init,
                   "lam": args.lam, "kd_layer": args.kd_layer, "kd_norm": args.kd_norm}
        train_recognizer(args.method, args.arch,
                         {k: v for k, v in options.items() if v is not None},
                         batch_size=args.batch_size or 128, lr=args.lr or 2e-3,
                         weight_decay=args.weight_decay, augmentation=not args.no_augment,
                         **_common(args))
        return 0
    train_classifier(args.arch, batch_size=args.batch_size or 128, lr=args.lr or 2e-3,
                     weight_decay=args.weight_decay, adv_eps=args.adv_eps,
                     adv_steps=args.adv_steps, alp=args.alp, augmentation=not args.no_augment,
                     **_common(args))
    return 0


def cmd_train_processor(args) -> int:
    from ..training.processors import train_processor

    train_processor(args.task, args.method, recognizer=args.recognizer, lam=args.lam,
                    batch_size=args.batch_size or 64, lr=args.lr or 1e-3,
                    transformer_kwargs=key_values(args.transformer_kw),
                    layers=args.layers.split(",") if args.layers else None, losses=args.losses,
                    texture_weight=args.texture_weight, patch=args.patch,
                    unsup_distance=args.unsup_distance, init=args.init,
                    perceptual=perceptual_options(args), **_common(args))
    return 0


def perceptual_options(args) -> dict | None:
    """Uelwer et al.'s perceptual settings given on the command line (None when none is)."""
    options = {
        "layer_weights": ([float(w) for w in args.layer_weights.split(",")]
                          if args.layer_weights else None),
        "texture_layers": args.texture_layers.split(",") if args.texture_layers else None,
        "patch_pixels": args.patch_pixels,
        "feature_norm": args.feature_norm,
    }
    options = {k: v for k, v in options.items() if v is not None}
    return options or None


def cmd_import_weights(args) -> int:
    from ..zoo.weight_import import import_weights

    path = import_weights(args.arch, args.weights, args.out, key_values(args.arch_kw),
                          dataset=args.dataset)
    print(f"Wrote {path}")
    return 0


def cmd_build_zoo(args) -> int:
    from ..training.build import build_zoo

    names = build_zoo(args.only, folder=args.checkpoints, state_dir=args.state_dir,
                      force=args.force, progress=not args.no_progress, dry_run=args.dry_run)
    print(("Would train: " if args.dry_run else "Trained: ") + (", ".join(names) or "nothing"))
    if args.dry_run:
        from ..training.build import entry_seconds, is_done
        from ..training.recipe import RECIPE
        from ..zoo.catalogue import checkpoint_dir

        folder = checkpoint_dir(args.checkpoints)
        times = {e["name"]: entry_seconds(e, folder) for e in RECIPE}
        done = {n: t for n, t in times.items() if t is not None}
        unrecorded = [e["name"] for e in RECIPE if times[e["name"]] is None and is_done(e, folder)]
        print(f"Done: {len(done)} of {len(RECIPE)} entries, {sum(done.values()) / 3600:.2f} "
              f"core-hours of recorded training (one process per core; two processes in "
              f"parallel take about half of it in wall time)"
              + (f"; time not recorded for {', '.join(unrecorded)}" if unrecorded else ""))
    return 0


def register(sub) -> None:
    train = [DATASET(), DEVICE(), SEED(), PROGRESS()]
    p = sub.add_parser("train-classifier", parents=train,
                       help="train a classifier (standard or PGD-L2 adversarial)")
    p.add_argument("--arch", required=True, help="classifier name (see 'list models')")
    p.add_argument("--weight-decay", type=non_negative_float, default=5e-4)
    p.add_argument("--adv-eps", type=non_negative_float, default=0.0,
                   help="PGD-L2 radius in [0,1]-pixel L2 units (0 = standard training)")
    p.add_argument("--adv-steps", type=positive_int, default=7)
    p.add_argument("--alp", type=non_negative_float, default=0.0,
                   help="adversarial logit pairing weight (Kannan et al.; needs --adv-eps)")
    p.add_argument("--no-augment", action="store_true", help="no random shifts / flips")
    p.add_argument("--method", default="standard",
                   help="standard, or a recognizer-side method: augment, train-on-lq, "
                        "finetune-on-processed, feature-kd, qualnet (see 'list methods')")
    p.add_argument("--degradation", default=None,
                   help="the LQ images of a recognizer-side method: a task spec or 'mix' "
                        "(sr-random / denoise-random / jpeg-random; the default)")
    p.add_argument("--teacher", default=None, help="feature-kd: the frozen clean teacher")
    p.add_argument("--decoder", default=None, help="qualnet: the frozen invertible classifier")
    p.add_argument("--processor", default=None,
                   help="finetune-on-processed: the frozen processor")
    p.add_argument("--init", default=None, help="start from this classifier checkpoint")
    p.add_argument("--lambda", dest="lam", type=non_negative_float, default=None,
                   help="feature-kd / qualnet: weight of the extra term (default 1)")
    p.add_argument("--kd-layer", default=None,
                   help="feature-kd / qualnet: the classifier's tap (default its last stage)")
    p.add_argument("--kd-norm", default=None, help="feature-kd: l2 (default) or l1")
    _training_options(p)
    p.set_defaults(func=cmd_train_classifier)

    p = sub.add_parser("train-processor", parents=train,
                       help="train an SRResNet processor with a method")
    p.add_argument("--task", type=task_spec, required=True,
                   help="task spec, e.g. sr, denoise:sigma=0.2, jpeg")
    p.add_argument("--method", required=True, help="plain, ra, ra-unsup, ra-transformer, "
                   "perceptual, robust-perceptual")
    p.add_argument("--recognizer", default=None, help="classifier checkpoint used by the loss")
    p.add_argument("--lambda", dest="lam", type=non_negative_float, default=0.0, help="loss weight lambda")
    p.add_argument("--transformer-kw", nargs="*", metavar="KEY=VALUE")
    p.add_argument("--layers", default=None, help="feature layers for perceptual losses (a,b)")
    p.add_argument("--losses", default="EP", help="perceptual combination: E, EP, EPT, ET, P, PT")
    p.add_argument("--texture-weight", type=non_negative_float, default=0.0)
    p.add_argument("--patch", type=positive_int, default=8, help="texture-loss patch size (feature pixels)")
    p.add_argument("--layer-weights", default=None,
                   help="P's weight per --layers entry, e.g. 0.2,0.02 (default: their mean)")
    p.add_argument("--texture-layers", default=None, help="T's layers when not --layers (a,b,c)")
    p.add_argument("--patch-pixels", type=positive_int, default=None,
                   help="T's patch in image pixels, scaled to each layer's map (not --patch)")
    p.add_argument("--feature-norm", default=None,
                   help="'channel-mean': every channel's mean activation on clean training "
                        "images scaled to 1 (Uelwer et al.); default none")
    p.add_argument("--unsup-distance", default="prob-l2", help="prob-l2, kl or logit-l2")
    p.add_argument("--init", default=None, help="start P from this processor checkpoint")
    _training_options(p)
    p.set_defaults(func=cmd_train_processor)

    p = sub.add_parser("import-weights", help="convert a torch.save state dict to a checkpoint")
    p.add_argument("--arch", required=True)
    p.add_argument("--weights", required=True, help="a .pth state dict (read with weights_only)")
    p.add_argument("--out", required=True)
    p.add_argument("--dataset", default="")
    p.add_argument("--arch-kw", nargs="*", metavar="KEY=VALUE")
    p.set_defaults(func=cmd_import_weights)

    p = sub.add_parser("build-zoo", parents=[CHECKPOINTS(), PROGRESS()],
                       help="train every missing checkpoint of the embedded zoo")
    p.add_argument("--only", nargs="*", help="glob patterns of checkpoint names")
    p.add_argument("--state-dir", default="runs")
    p.add_argument("--force", action="store_true", help="retrain entries that exist")
    p.add_argument("--dry-run", action="store_true")
    p.set_defaults(func=cmd_build_zoo)
