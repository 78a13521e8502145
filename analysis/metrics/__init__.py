"""Image-quality metrics: ``create_metric(name)`` and ``list_metrics()`` (see ``registry``);
detection mAP with bootstrap CIs in ``detection``."""

from .registry import METRICS, create_metric, list_metrics

__all__ = ["METRICS", "create_metric", "list_metrics"]
