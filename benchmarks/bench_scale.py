"""The pipeline at the researcher's scale: wall time and peak resident memory of every step.

On a 5-class 224 x 224 RGB ImageFolder that the benchmark writes (``--train`` and ``--test``
JPEG images in all, spread over the classes; class-tinted noise), it runs the
verbs as a researcher would, each as its own ``python -m analysis`` process, and reads each
process's wall time and peak resident set size (``os.wait4``'s ``ru_maxrss``):

1. ``import-weights`` of torchvision ResNet-18 and ResNet-50 with random weights
   (``torchvision.models.resnet18(num_classes=5)``, saved with ``torch.save(state_dict)``,
   imported as docs/own-data.md says). They are timing subjects only: their predictions are
   chance.
2. ``train-processor`` plain and RA (SRResNet, SR x4, through tv-resnet18), ``--max-steps``
   steps of batch ``--batch-size`` (training briefly: the memory of a step, not a model), in
   ``--precision`` (``auto``: float32 on a CPU; ``bfloat16`` autocasts on a CPU too).
3. ``evaluate``, ``quality`` (``--quality-metrics``: six by default, ``all`` for every
   available one), ``bd`` of tv-resnet18 / tv-resnet50 on
   ``--bd-images`` test images (every image), and ``figure boundary-maps`` of one image at
   ``--map-resolution`` points per axis, all at batch ``--batch-size``.

The device is the verbs' default (CUDA when present, else CPU) unless ``--device``; with CUDA
the table's memory is still the process's resident host memory. Prints the machine (CPU,
threads, sgemm GFLOP/s, load average) and a Markdown table; ``--out FILE.json`` keeps it.

    python -m benchmarks.bench_scale [--train 300] [--test 100] [--batch-size 32] [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmarks.bench_inference import sgemm_gflops

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("ant", "bee", "cat", "dog", "eel")
LIMIT_GIB = 4.0          # the goal: every step's peak RSS within 4 GB
QUALITY_METRICS = "psnr,ssim,ms-ssim,gmsd,uqi,lpips-tv-resnet18"


def make_folder(root: Path, train: int, test: int, size: int = 224, seed: int = 0) -> Path:
    """``root/train/<class>/*.jpg`` and ``root/test/<class>/*.jpg``: ``train`` and ``test``
    images in all, spread evenly over 5 classes, ``size`` x ``size`` RGB (noise over a class
    tint, JPEG quality 90)."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("test", test)):
        for k, name in enumerate(CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(k, n, len(CLASSES)):
                base = np.array([40 * k, 200 - 40 * k, 120], dtype=np.int16)
                pixels = base + rng.integers(-50, 50, (size, size, 3))
                Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                    folder / f"{i:05d}.jpg", quality=90)
    return root


def random_weights(arch: str, path: Path) -> Path:
    """A torchvision ``arch`` with random weights and 5 classes, saved as a state dict."""
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(weights=None, num_classes=len(CLASSES))
    torch.save(model.state_dict(), path)
    return path


def run_step(name: str, args: list[str], log: Path, threads: int | None) -> dict:
    """Run ``python -m analysis ARGS``; its wall seconds and peak RSS (GiB)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    t0 = time.perf_counter()
    with open(log, "w") as sink:
        child = subprocess.Popen([sys.executable, "-m", "analysis", *args], cwd=ROOT, env=env,
                                 stdout=sink, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    row = {"step": name, "command": "python -m analysis " + " ".join(args), "seconds": wall,
           "peak_rss_gib": usage.ru_maxrss / 2**20, "exit": code}
    print(f"{name}: {wall:.1f} s, peak RSS {row['peak_rss_gib']:.2f} GiB, exit {code}",
          file=sys.stderr)
    if code != 0:
        print(log.read_text()[-3000:], file=sys.stderr)
    return row


def machine(threads: int | None) -> dict:
    """CPU model, threads, sgemm GFLOP/s in this process, load average, GPU if any."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if threads:
        torch.set_num_threads(threads)
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "sgemm_gflops": sgemm_gflops(), "load_average": os.getloadavg(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__}


def steps(work: Path, args) -> list[tuple[str, list[str]]]:
    data, zoo = f"imagefolder:{work / 'images'}", str(work / "zoo")
    common = ["--dataset", data]
    device = ["--device", args.device] if args.device else []
    b = str(args.batch_size)
    train = ["train-processor", *common, *device, "--task", "sr", "--epochs", "1",
             "--batch-size", b, "--max-steps", str(args.max_steps), "--val-first", b,
             "--state-dir", str(work / "runs"), "--no-progress", "--precision", args.precision]
    tag = "" if args.precision == "auto" else f", {args.precision}"
    measure = [*common, "--checkpoints", zoo, *device, "--no-progress"]
    return [
        ("import-weights tv-resnet18", ["import-weights", "--arch", "tv-resnet18", "--weights",
                                        str(work / "resnet18.pth"), *common,
                                        "--out", f"{zoo}/tv-resnet18"]),
        ("import-weights tv-resnet50", ["import-weights", "--arch", "tv-resnet50", "--weights",
                                        str(work / "resnet50.pth"), *common,
                                        "--out", f"{zoo}/tv-resnet50"]),
        (f"train-processor plain{tag}", [*train, "--method", "plain",
                                          "--out", f"{zoo}/sr-plain"]),
        (f"train-processor ra{tag}", [*train, "--method", "ra", "--classifier", f"{zoo}/tv-resnet18",
                                "--lambda", "0.01", "--out", f"{zoo}/sr-ra"]),
        ("evaluate", ["evaluate", *measure, "--task", "sr", "--batch-size", b, "--json"]),
        ("quality", ["quality", *measure, "--task", "sr", "--batch-size", b,
                     "--first", str(args.test), "--out", str(work / "out"),
                     *([] if args.quality_metrics == "all" else
                       ["--metrics", args.quality_metrics])]),
        ("bd tv-resnet18 / tv-resnet50", ["bd", *measure, "--task", "sr", "--source",
                                          "tv-resnet18", "--target", "tv-resnet50",
                                          "--all-images", "--sample", str(args.bd_images),
                                          "--out", str(work / "out")]),
        ("boundary map", ["figure", "boundary-maps", *common, "--checkpoints", zoo, *device,
                          "--task", "sr", "--indices", "0",
                          "--classifiers", "tv-resnet18,tv-resnet50", "--resolution",
                          str(args.map_resolution), "--format", "png",
                          "--out", str(work / "figures")]),
    ]


def table(result: dict) -> str:
    m = result["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['threads']} threads, sgemm "
             f"{m['sgemm_gflops']:.0f} GFLOP/s, load average {m['load_average'][0]:.1f} at the "
             f"start; GPU: {m['gpu'] or 'none'}; torch {m['torch']}.", "",
             "| step | wall, s | peak RSS, GiB | within 4 GiB |", "|---|---:|---:|---|"]
    for row in result["rows"]:
        ok = "yes" if row["peak_rss_gib"] <= LIMIT_GIB and row["exit"] == 0 else "no"
        lines.append(f"| {row['step']} | {row['seconds']:.1f} | {row['peak_rss_gib']:.2f} | "
                     f"{ok if row['exit'] == 0 else 'failed (exit %d)' % row['exit']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--train", type=int, default=300, help="training images in all")
    p.add_argument("--test", type=int, default=100, help="test images in all")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-steps", type=int, default=2, help="training steps per processor")
    p.add_argument("--bd-images", type=int, default=5, help="test images of the BD table")
    p.add_argument("--map-resolution", type=int, default=16, help="map points per axis")
    p.add_argument("--quality-metrics", default=QUALITY_METRICS,
                   help="the quality step's metrics, comma-separated, or 'all' (every available "
                        f"one; the slow IFC, FLIP, FSIM at 224 px included) (default: "
                        f"{QUALITY_METRICS})")
    p.add_argument("--only", default=None, metavar="A,B",
                   help="run only the steps whose names start with these words (with --work "
                        "holding the earlier steps' data and zoo), e.g. quality,bd,boundary")
    p.add_argument("--device", default=None, help="cpu or cuda (default: the verbs' own)")
    p.add_argument("--precision", default="auto",
                   help="the training steps' precision (train-processor --precision)")
    p.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS of the steps")
    p.add_argument("--work", default=None, help="folder for data, zoo and logs (default: a "
                   "temporary folder, removed)")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if not (work / "images").is_dir():
            make_folder(work / "images", args.train, args.test)
            random_weights("resnet18", work / "resnet18.pth")
            random_weights("resnet50", work / "resnet50.pth")
        print(f"data and weights: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        result = {"machine": machine(args.threads), "settings": vars(args), "rows": []}
        only = args.only.split(",") if args.only else None
        for k, (name, cmd) in enumerate(steps(work, args)):
            if only is None or any(name.startswith(word) for word in only):
                result["rows"].append(run_step(name, cmd, work / f"step{k}.log", args.threads))
        result["machine"]["load_average_end"] = os.getloadavg()
    print(table(result))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0 if all(r["exit"] == 0 for r in result["rows"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
