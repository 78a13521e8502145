"""The set-up every entry point shares: one :class:`Setting` holds the dataset, the task, the
checkpoint folder and device, picks and loads the models, streams the test split through the
runner with progress, and writes the provenance of what it measured.

Example::

    setting = Setting("sr", dataset="cifar10", device="cpu")
    clf_cards, proc_cards = setting.select()
    sink = RecordSink(setting.load(clf_cards))
    setting.run(setting.load(proc_cards), [sink], desc="evaluate sr", limit=100)
    record = setting.provenance(n_images=100, checkpoints=model_digests(clf_cards, proc_cards),
                                seeds={"degradation": 0})
"""

from __future__ import annotations

import copy
from collections.abc import Iterator

import torch

from ..config import default_dataset, default_workers
from ..data.datasets import load_dataset
from ..data.tasks import create_task
from ..device import fit_batch, pick_device
from ..outputs.provenance import Clock, provenance
from ..zoo.catalogue import checkpoint_dir, classifier_cards, collection_dirs, locate, select_models
from ..zoo.checkpoints import load_checkpoint
from ..zoo.dataset_fit import check_classifier_fits
from .records import RecordSink, RecordTable, run_sinks
from .runner import ProcessedBatch, chain, stream, tqdm_progress


class Setting:
    """One dataset, task, checkpoint folder and device, with the test split and the models
    loaded on demand (each once) and the run's clock started at construction.

    Args:
        task: a task spec (``"sr"``, ``"denoise:sigma=0.1"``) or None for classifier-only work.
        dataset: a dataset spec (default: :func:`analysis.config.default_dataset`).
        folder: the checkpoint folder (default: :func:`analysis.zoo.checkpoints.checkpoint_dir`).
        device: ``"cpu"``, ``"cuda"`` ... (default: CUDA when present, else CPU).
        data_root: where the dataset's files are (default: the dataset's own place).

    Attributes: ``task`` (task object or None), ``dataset`` (spec), ``folder`` (Path),
    ``device`` (torch.device), ``clock`` (:class:`~analysis.reporting.provenance.Clock`),
    ``test`` (the test split, loaded on first use), ``info`` (its dataset info), and
    ``classifier_cards`` / ``processor_cards`` (name -> card, the last :meth:`select`).
    """

    def __init__(self, task: str | None = None, dataset: str | None = None, folder=None,
                 device: str | None = None, data_root: str | None = None,
                 workers: int | None = None):
        self.clock = Clock()
        self.workers = default_workers(workers)   # decode + degrade ahead (runner.stream)
        self.dataset = default_dataset(dataset)
        self.task = None if task is None else create_task(task)
        self.device = pick_device(device)
        self.folder = checkpoint_dir(folder)
        self.data_root = data_root
        self.classifier_cards: dict[str, dict] = {}    # name -> card, set by :meth:`select`
        self.processor_cards: dict[str, dict] = {}
        self._shared = {"test": None, "models": {}}   # shared with :meth:`for_task` copies

    # ------------------------------------------------------------------ data
    @property
    def test(self):
        """The test split (loaded on first use)."""
        if self._shared["test"] is None:
            self._shared["test"] = load_dataset(self.dataset, "test", root=self.data_root)
        return self._shared["test"]

    @property
    def info(self):
        return self.test.info

    def for_task(self, task: str | None) -> Setting:
        """The same setting (clock, split, loaded models) for another task (None: clean
        images only)."""
        other = copy.copy(self)
        other.task = None if task is None else create_task(task)
        return other

    # ------------------------------------------------------------------ models
    def select(self, processors=None, classifiers=None, collections: tuple[str, ...] = (),
               recognizers: bool = False) -> tuple[list[dict], list[dict]]:
        """(classifier cards, processor cards) of the dataset and task, see
        :func:`analysis.zoo.catalogue.select_models`, also kept as ``classifier_cards`` and
        ``processor_cards`` (name -> card) for :meth:`models` and :meth:`digests`.

        ``collections``: names of :data:`~analysis.zoo.checkpoints.COLLECTIONS` whose
        processors are added after the zoo's (e.g. ``("loss-grid",)``); ``recognizers``:
        every classifier, the recognizer-side ones (``checkpoints/recognizers/``) after the
        zoo's (:func:`analysis.zoo.checkpoints.classifier_cards`), unless ``classifiers``
        names some.
        """
        clf_cards, proc_cards = select_models(self.task.spec, self.dataset, self.folder,
                                              processors, classifiers)
        if recognizers and not classifiers:
            clf_cards = classifier_cards(self.folder, self.dataset)
        present = collection_dirs(self.folder)
        for name in collections:
            if name in present:
                proc_cards += select_models(self.task.spec, self.dataset, present[name])[1]
        self.classifier_cards = {c["name"]: c for c in clf_cards}
        self.processor_cards = {c["name"]: c for c in proc_cards}
        return clf_cards, proc_cards

    def load(self, cards: list[dict]) -> dict[str, torch.nn.Module]:
        """{name: model} for each card (eval mode, on the device), each file loaded once; a
        classifier whose classes or channels differ from the dataset's is refused."""
        models = self._shared["models"]
        for card in cards:
            key = str(card["path"])
            if key not in models:
                model = load_checkpoint(card["path"], device=self.device)[0]
                self.check_fits(card["name"], model, card.get("kind"))
                models[key] = model
        return {c["name"]: models[str(c["path"])] for c in cards}

    def check_fits(self, name: str, model: torch.nn.Module, kind: str | None) -> None:
        """Refuse classifier ``name`` if its class count or input channels are not the test
        split's (:func:`analysis.zoo.dataset_fit.check_classifier_fits`); other kinds pass."""
        if kind == "classifier":
            check_classifier_fits(name, model, self.info, self.dataset)

    def models(self, names) -> dict[str, torch.nn.Module]:
        """{name: model} of the selected cards (:meth:`select`) named in ``names``."""
        cards = {**self.classifier_cards, **self.processor_cards}
        return self.load([cards[n] for n in dict.fromkeys(names)])

    def digests(self, *names: str) -> dict[str, str]:
        """{name: SHA-256 of its weights} of the selected cards named."""
        cards = {**self.classifier_cards, **self.processor_cards}
        return {n: cards[n]["weights"]["sha256"] for n in names}

    def checkpoint(self, name: str, kind: str | None = None) -> tuple[torch.nn.Module, dict]:
        """(model, card) of checkpoint ``name`` in the folder or one of its collections
        (:func:`analysis.zoo.checkpoints.locate`); ``kind`` checks the card's kind, and a
        classifier is checked against the dataset (:meth:`check_fits`)."""
        model, card = load_checkpoint(locate(name, self.folder), device=self.device, kind=kind)
        self.check_fits(name, model, card.get("kind"))
        return model, card

    # ------------------------------------------------------------------ the runner
    def batches(self, processors: dict[str, torch.nn.Module], desc: str | None = None,
                progress: bool = True, on_progress=None, batch_size: int | None = 500,
                limit=None, indices=None, seed: int = 0, include_clean: bool = True,
                shard: bool = True, skip=()) -> Iterator[ProcessedBatch]:
        """:func:`analysis.pipeline.runner.stream` of the test split through ``processors``
        under this task; ``desc``: a tqdm bar of that name on stderr (when ``progress``);
        ``on_progress(done, total)`` after every batch as well; ``batch_size`` None: 500, or
        fewer for large images (:meth:`batch_size`); ``skip``: batch numbers not run."""
        bar, close = tqdm_progress(desc, progress) if desc is not None else (None, None)
        try:
            yield from stream(self.task, processors, self.test, self.device,
                              self.batch_size(batch_size), limit, indices=indices, seed=seed,
                              include_clean=include_clean, shard=shard,
                              on_progress=chain(bar, on_progress), skip=skip,
                              workers=self.workers)
        finally:
            if close is not None:
                close()

    def batch_size(self, wanted: int | None = None, base: int = 500) -> int:
        """Images per batch: ``wanted`` when given, else ``base`` or fewer so that a batch of
        the test split's images holds at most :data:`~analysis.device.BATCH_VALUES` values
        (:func:`~analysis.device.fit_batch`: 500 at 28 or 32 px, 55 at 224x224 RGB)."""
        if wanted is not None:
            return wanted
        return fit_batch(self.info.channels * self.info.size ** 2, base)

    def run(self, processors: dict[str, torch.nn.Module], sinks, partial=None,
            **options) -> None:
        """One pass of :meth:`batches` (same ``options``) feeding every sink of ``sinks``.

        ``partial``: a :class:`~analysis.pipeline.partial.PartialStore`; the batches it holds
        are not run and their parts go back into the sinks, and each new batch's parts (what
        each sink appended to its ``parts``) are kept there as soon as it is done."""
        skip = set(partial.done) if partial is not None else set()
        for number in sorted(skip):
            for sink, parts in zip(sinks, partial.done[number]):
                sink.parts.extend(parts)
        batches = self.batches(processors, skip=skip, **options)
        try:
            if partial is None:
                run_sinks(batches, sinks)
                return
            with torch.inference_mode():
                for batch in batches:
                    before = [len(sink.parts) for sink in sinks]
                    for sink in sinks:
                        sink.add(batch)
                    partial.save(batch.number, [sink.parts[n:] for sink, n in zip(sinks, before)])
        finally:
            batches.close()

    def records(self, classifiers: dict[str, torch.nn.Module],
                processors: dict[str, torch.nn.Module], limit=None, metrics: dict | None = None,
                batch_size: int | None = None, on_progress=None) -> RecordTable:
        """The per-image record table of ``classifiers`` on the first ``limit`` test images and
        every input (clean, no processing, each processor), measured now in this process;
        ``metrics`` (name -> ``m(x, y) -> Tensor[N]``) of each human view as well."""
        sink = RecordSink(classifiers, metrics)
        self.run(processors, [sink], batch_size=batch_size, limit=limit, shard=False,
                 on_progress=on_progress)
        return sink.table(self.task.spec, self.dataset, "test")

    # ------------------------------------------------------------------ provenance
    def provenance(self, *, n_images: int, checkpoints: dict[str, str], seeds: dict,
                   world_size: int = 1, device=None) -> dict:
        """:func:`analysis.reporting.provenance.provenance` of a test-split result of this
        setting (its clock; ``checkpoints``: name -> SHA-256; ``device``: default its own)."""
        return provenance(dataset=self.dataset, split="test", n_images=n_images,
                          checkpoints=checkpoints, seeds=seeds,
                          device=self.device if device is None else device, clock=self.clock,
                          world_size=world_size)
