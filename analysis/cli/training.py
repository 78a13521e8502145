"""Verbs that make checkpoints: ``train-classifier``, ``train-processor``, ``train-detector``,
``build-zoo``, ``import-weights``."""

from __future__ import annotations

from ..config import default_dataset, weights_store_dir
from ..data.datasets import DATASETS, split_dataset_spec
from ..training.precision import PRECISIONS
from ..zoo import MODELS, model_kind
from .options import CHECKPOINTS, DATASET, DEVICE, PROGRESS, SEED, key_values
from .validators import (
    names,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    sample_limit,
    task_spec,
)
from .vocabulary import CommaList, list_of, renamed

key_value_list = list_of()       # --arch-kw channels=32,blocks=6


PROCESSOR_ARCHS = [n for n in MODELS if model_kind(n) == "processor"]
DETECTOR_ARCHS = [n for n in MODELS if model_kind(n) == "detector"]

def _training_options(p):
    p.add_argument("--out", required=True, help="checkpoint path stem (writes .safetensors + .json)")
    p.add_argument("--epochs", type=positive_int, default=10, help="passes over the training set")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="images per step (default: 128 for classifiers, 64 for processors, 16 for "
                        "detectors)")
    p.add_argument("--lr", type=positive_float, default=None,
                   help="learning rate (default: 2e-3 for classifiers, 1e-3 for processors and "
                        "detectors)")
    p.add_argument("--arch-kw", type=key_value_list, action=CommaList, default=None,
                   metavar="KEY=VALUE,...",
                   help="constructor options, comma-separated (default: the architecture's own)")
    p.add_argument("--sample", type=sample_limit, default=None, metavar="N",
                   help="train on a seeded class-stratified sample of N training images "
                        "(default: every one)")
    p.add_argument("--val-first", type=positive_int, default=2000, metavar="N",
                   help="the first N validation images, measured every epoch (default: 2000; "
                        "500 canvases for train-detector)")
    p.add_argument("--resume", action="store_true", help="continue from the saved state")
    p.add_argument("--max-steps", type=positive_int, default=None,
                   help="stop after N steps, for smoke runs (default: no limit)")
    p.add_argument("--float16", action="store_true", help="store weights as float16")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="the training steps' arithmetic: auto (bfloat16 autocast on a CUDA "
                        "device, float32 on a CPU), float32, bfloat16 (autocast; on a CPU too, "
                        "about half the activation memory) or float16 (CUDA only); weights "
                        "stay float32")
    p.add_argument("--workers", type=non_negative_int, default=0,
                   help="processes decoding the training batches ahead of each step (default: "
                        "0, decoding in the training process; helps where decoding images, "
                        "e.g. an image folder's JPEGs, is a visible share of a step)")
    p.add_argument("--state-dir", default="runs", help="where resumable training state goes")
    renamed(p, limit="--sample", val_limit="--val-first")


def _common(args) -> dict:

    return {"dataset": default_dataset(args.dataset), "out": args.out, "epochs": args.epochs,
            "seed": args.seed, "arch_kwargs": key_values(args.arch_kw),
            "data_root": args.data_root, "limit": args.sample, "val_limit": args.val_first,
            "device": args.device, "resume": args.resume, "max_steps": args.max_steps,
            "dtype": "float16" if args.float16 else "float32", "state_dir": args.state_dir,
            "progress": not args.no_progress, "precision": args.precision,
            "workers": args.workers}


def cmd_train_classifier(args) -> int:
    from ..training.classifiers import train_classifier

    if args.method != "standard":
        from ..errors import RAExplorerError
        from ..training.recognizer_side import train_recognizer

        if args.pgd_eps > 0:
            raise RAExplorerError("--pgd-eps trains the standard method adversarially; it does "
                                  f"not combine with --method {args.method}.")
        options = {"degradation": args.task, "teacher": args.teacher,
                   "decoder": args.decoder, "processor": args.processor, "init": args.init,
                   "lam": args.lam, "kd_layer": args.kd_layer, "kd_norm": args.kd_norm}
        train_recognizer(args.method, args.arch,
                         {k: v for k, v in options.items() if v is not None},
                         batch_size=args.batch_size or 128, lr=args.lr or 2e-3,
                         weight_decay=args.weight_decay, augmentation=not args.no_augment,
                         **_common(args))
        return 0
    train_classifier(args.arch, batch_size=args.batch_size or 128, lr=args.lr or 2e-3,
                     weight_decay=args.weight_decay, adv_eps=args.pgd_eps,
                     adv_steps=args.pgd_steps, alp=args.alp, augmentation=not args.no_augment,
                     **_common(args))
    return 0


def cmd_train_processor(args) -> int:
    from ..training.processors import train_processor

    common = _common(args)
    if args.detector:    # RA through a detector trains on canvases (default: of the dataset
        common.update(   # in force), which have no class labels: --sample N takes the first N
            dataset=detector_dataset(args.dataset),
            limit=None if args.sample is None else int(args.sample))
    train_processor(args.task, args.method, recognizer=args.classifier, lam=args.lam,
                    batch_size=args.batch_size or 64, lr=args.lr or 1e-3,
                    transformer_kwargs=key_values(args.transformer_kw),
                    layers=args.layers, losses=args.losses,
                    texture_weight=args.texture_weight, patch=args.patch,
                    unsup_distance=args.unsup_distance, init=args.init,
                    perceptual=perceptual_options(args), arch=args.arch,
                    detector=args.detector, **common)
    return 0


def detector_dataset(spec: str | None) -> str:
    """``--dataset`` of train-detector: the spec given, else canvases of the dataset in force
    ($RA_DATASET or the embedded one) unless that is a detection dataset already."""

    if spec:
        return spec
    spec = default_dataset()
    name, _ = split_dataset_spec(spec)
    return spec if DATASETS[name].detection else f"canvas:base={spec.replace(',', ';')}"


def cmd_train_detector(args) -> int:
    from ..training.detectors import train_detector

    common = {**_common(args), "dataset": detector_dataset(args.dataset),
              # canvases have no class labels to stratify by: --sample N takes the first N
              "limit": None if args.sample is None else int(args.sample)}
    train_detector(args.arch, batch_size=args.batch_size or 16, lr=args.lr or 1e-3,
                   weight_decay=args.weight_decay, grad_clip=args.grad_clip or None,
                   flip=not args.no_flip, **common)
    return 0


def perceptual_options(args) -> dict | None:
    """Uelwer et al.'s perceptual settings given on the command line (None when none is)."""
    options = {
        "layer_weights": args.layer_weights,
        "texture_layers": args.texture_layers,
        "patch_pixels": args.patch_pixels,
        "feature_norm": args.feature_norm,
    }
    options = {k: v for k, v in options.items() if v is not None}
    return options or None


def cmd_import_weights(args) -> int:
    from ..zoo.weight_import import existing_checkpoint, import_weights

    replaced = existing_checkpoint(args.out) is not None
    path = import_weights(args.arch, args.weights, args.out, key_values(args.arch_kw),
                          dataset=args.dataset, force=args.force)
    print(f"Overwrote {path} and its weights (--force); results measured with the old weights "
          "now say so" if replaced else f"Wrote {path}")
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
        outside = [e["name"] for e in RECIPE if e.get("outside") and e["name"] in names]
        if outside:
            print(f"Weights kept outside the repository ({weights_store_dir()}), cards in the "
                  f"checkpoint folder: {', '.join(outside)}")
    return 0


def register(sub) -> None:
    train = [DATASET(), DEVICE(), SEED(), PROGRESS()]
    p = sub.add_parser("train-classifier", parents=train,
                       help="train a classifier (standard, PGD-L2 adversarial or a "
                            "recognizer-side method)")
    p.add_argument("--arch", required=True, help="classifier name (see 'list models')")
    p.add_argument("--weight-decay", type=non_negative_float, default=5e-4,
                   help="SGD weight decay")
    p.add_argument("--pgd-eps", type=non_negative_float, default=0.0,
                   help="PGD-L2 training radius in [0,1]-pixel L2 units (0 = standard training)")
    p.add_argument("--pgd-steps", type=positive_int, default=7, help="PGD steps per batch")
    p.add_argument("--alp", type=non_negative_float, default=0.0,
                   help="adversarial logit pairing weight (Kannan et al.; needs --pgd-eps)")
    p.add_argument("--no-augment", action="store_true", help="no random shifts / flips")
    p.add_argument("--method", default="standard",
                   help="standard, or a recognizer-side method: augment, train-on-lq, "
                        "finetune-on-processed, feature-kd, qualnet, qualnet-trained-decoder "
                        "(see 'list methods')")
    p.add_argument("--task", default=None,
                   help="the LQ images of a recognizer-side method: a task spec, 'mix' "
                        "(sr-random / denoise-random / jpeg-random) or 'corrupt-seen' (gaussian "
                        "noise, defocus blur, snow and contrast at severities 1-5; the other "
                        "corruption types unseen) (default: mix)")
    p.add_argument("--teacher", default=None,
                   help="feature-kd: the frozen clean teacher, a classifier checkpoint "
                        "(default: none; feature-kd needs it)")
    p.add_argument("--decoder", default=None,
                   help="qualnet: the invertible classifier checkpoint, frozen (trained with "
                        "the student by qualnet-trained-decoder) (default: none; both need it)")
    p.add_argument("--processor", default=None,
                   help="finetune-on-processed: the frozen processor checkpoint (default: "
                        "none; that method needs it)")
    p.add_argument("--init", default=None,
                   help="start from this classifier checkpoint (default: random weights)")
    p.add_argument("--lambda", dest="lam", type=non_negative_float, default=None,
                   help="feature-kd / qualnet: weight of the extra term (default 1)")
    p.add_argument("--kd-layer", default=None,
                   help="feature-kd / qualnet: the classifier's tap (default: its last stage)")
    p.add_argument("--kd-norm", default=None, help="feature-kd: l2 (default) or l1")
    _training_options(p)
    renamed(p, adv_eps="--pgd-eps", adv_steps="--pgd-steps", degradation="--task")
    p.set_defaults(func=cmd_train_classifier)

    p = sub.add_parser("train-processor", parents=train,
                       help="train a processor (SRResNet by default) with a method")
    p.add_argument("--arch", default="srresnet", choices=PROCESSOR_ARCHS,
                   help="processor architecture (the zoo's is srresnet)")
    p.add_argument("--task", type=task_spec, required=True,
                   help="task spec, e.g. sr, denoise:sigma=0.2, jpeg")
    p.add_argument("--method", required=True, help="plain, ra, ra-unsup, ra-transformer, "
                   "perceptual, robust-perceptual (see 'list methods')")
    p.add_argument("--classifier", default=None,
                   help="the classifier checkpoint in the loss, R (default: none; the RA and "
                        "perceptual methods need one)")
    p.add_argument("--detector", default=None,
                   help="on detection canvases (--dataset canvas:...): the detector checkpoint "
                        "whose losses --method ra uses, instead of --classifier (default: none)")
    p.add_argument("--lambda", dest="lam", type=non_negative_float, default=0.0,
                   help="weight lambda of the recognition / perceptual loss")
    p.add_argument("--transformer-kw", type=key_value_list, action=CommaList, default=None,
                   metavar="KEY=VALUE,...",
                   help="ra-transformer: the transformer's constructor options, comma-separated "
                        "(default: its own)")
    p.add_argument("--layers", type=names, default=None, metavar="A,B",
                   help="feature layers of the perceptual losses, comma-separated (default: "
                        "the method's)")
    p.add_argument("--losses", default="EP",
                   help="perceptual combination: E, EP, EPT, ET, P or PT")
    p.add_argument("--texture-weight", type=non_negative_float, default=0.0,
                   help="weight of the texture term T")
    p.add_argument("--patch", type=positive_int, default=8,
                   help="texture-loss patch size, feature pixels")
    p.add_argument("--layer-weights", type=list_of(float), default=None, metavar="W1,W2",
                   help="P's weight per --layers entry, e.g. 0.2,0.02 (default: their mean)")
    p.add_argument("--texture-layers", type=names, default=None, metavar="A,B",
                   help="T's layers, comma-separated (default: --layers)")
    p.add_argument("--patch-pixels", type=positive_int, default=None,
                   help="T's patch in image pixels, scaled to each layer's map (default: "
                        "--patch in feature pixels)")
    p.add_argument("--feature-norm", default=None,
                   help="'channel-mean': every channel's mean activation on clean training "
                        "images scaled to 1 (Uelwer et al.); default: none")
    p.add_argument("--unsup-distance", default="prob-l2",
                   help="ra-unsup's distance: prob-l2, kl or logit-l2")
    p.add_argument("--init", default=None,
                   help="start P from this processor checkpoint (default: random weights)")
    _training_options(p)
    renamed(p, recognizer="--classifier")
    p.set_defaults(func=cmd_train_processor)

    p = sub.add_parser("train-detector", parents=train,
                       help="train a detector (FCOS or RetinaNet) from scratch on detection "
                            "canvases")
    p.add_argument("--arch", required=True, choices=DETECTOR_ARCHS,
                   help="detector architecture (see 'list models')")
    p.add_argument("--weight-decay", type=non_negative_float, default=1e-4,
                   help="AdamW weight decay")
    p.add_argument("--grad-clip", type=non_negative_float, default=10.0,
                   help="clip the gradients' total L2 norm to this (0 = no clipping)")
    p.add_argument("--no-flip", action="store_true", help="no random left-right flips")
    _training_options(p)
    p.set_defaults(func=cmd_train_detector, val_first=500, epochs=20)

    p = sub.add_parser("import-weights", help="convert a torch.save state dict to a checkpoint")
    p.add_argument("--arch", required=True, help="architecture name (see 'list models')")
    p.add_argument("--weights", required=True, help="a .pth state dict (read with weights_only)")
    p.add_argument("--out", required=True, help="checkpoint path stem (.safetensors + .json)")
    p.add_argument("--dataset", required=True,
                   help="the dataset the weights are for, written in the card (the verbs find "
                        "the checkpoint by it); a classifier's class count and input channels "
                        "must be the dataset's")
    p.add_argument("--arch-kw", type=key_value_list, action=CommaList, default=None,
                   metavar="KEY=VALUE,...",
                   help="constructor options, comma-separated (default: the architecture's own)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a checkpoint already at --out (default: refuse)")
    p.set_defaults(func=cmd_import_weights)

    p = sub.add_parser("build-zoo", parents=[CHECKPOINTS(), PROGRESS()],
                       help="train every missing checkpoint of the embedded zoo")
    p.add_argument("--only", type=names, action=CommaList, default=None, metavar="A,B",
                   help="comma-separated glob patterns of checkpoint names (default: every entry)")
    p.add_argument("--state-dir", default="runs", help="where resumable training state goes")
    p.add_argument("--force", action="store_true", help="retrain entries that exist")
    p.add_argument("--dry-run", action="store_true",
                   help="print what would be trained and the recorded hours; train nothing")
    p.set_defaults(func=cmd_build_zoo)
