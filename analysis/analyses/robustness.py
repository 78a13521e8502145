"""Clean and PGD-L2 accuracy of a classifier on the test split (the robust classifiers' check)."""

from __future__ import annotations

from pathlib import Path

from ..config import ROBUSTNESS_IMAGES
from ..errors import RAExplorerError
from ..outputs.result_files import write_result
from ..pipeline.setting import Setting
from ..stats import wilson_interval
from ..training.classifiers import accuracy, robust_accuracy


def robustness_report(classifier: str, folder=None, eps: float | None = None, steps: int = 20,
                      limit: int | None = ROBUSTNESS_IMAGES, seed: int = 0,
                      device: str | None = None, update_card: bool = False,
                      progress: bool = True) -> dict:
    """Accuracy of ``classifier`` on the first ``limit`` test images, clean and under a
    PGD-``steps`` L2 attack of radius ``eps`` ([0,1]-pixel units; default: its training
    epsilon), each with a 95 % Wilson interval, and provenance. ``update_card`` writes the PGD
    figures into the model card."""
    from ..zoo.checkpoints import load_checkpoint
    from ..zoo.checkpoints import update_card as write_card

    setting = Setting(None, None, folder, device)
    dev = setting.device
    path = setting.folder / classifier
    model, card = load_checkpoint(path, device=dev, kind="classifier")
    eps = eps if eps is not None else (
        (card.get("training") or {}).get("adversarial") or {}).get("eps")
    if not eps:
        raise RAExplorerError(f"{classifier} was not trained adversarially; pass --pgd-eps.")
    setting.dataset = dataset = card.get("dataset") or setting.dataset
    test = setting.test
    n = len(test) if limit is None else min(limit, len(test))
    clean = accuracy(model, test, dev, limit=n)
    robust = robust_accuracy(model, test, dev, eps=eps, steps=steps, limit=n, seed=seed)
    # provenance before the card update: the git state is that of the code that measured
    record = setting.provenance(n_images=n, checkpoints={classifier: card["weights"]["sha256"]},
                                seeds={"attack": seed})
    if update_card:
        write_card(path, metrics={f"test_pgd{steps}_accuracy": robust,
                                  f"test_pgd{steps}_eps": eps, f"test_pgd{steps}_images": n})
    return {"classifier": classifier, "dataset": dataset, "images": n, "eps": eps, "norm": "L2",
            "units": "[0,1]-pixel L2", "steps": steps, "clean_accuracy": clean,
            "clean_ci95": list(wilson_interval(round(clean * n), n)),
            "robust_accuracy": robust,
            "robust_ci95": list(wilson_interval(round(robust * n), n)),
            "provenance": record}


def format_robustness(result: dict) -> str:
    """One line per accuracy, in % with the 95 % interval."""
    def pct(key):
        lo, hi = result[f"{key}_ci95"]
        return f"{100 * result[f'{key}_accuracy']:.1f} % [{100 * lo:.1f}, {100 * hi:.1f}]"

    return (f"{result['classifier']} on {result['images']} {result['dataset']} test images: "
            f"clean {pct('clean')}; PGD-{result['steps']} L2 eps {result['eps']} "
            f"({result['units']}) {pct('robust')}")


def save_robustness(result: dict, out_dir: Path | None = None) -> list[Path]:
    return write_result(result, out_dir, f"robustness_{result['classifier']}", format_robustness)
