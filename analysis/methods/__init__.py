"""Methods as specs: the one vocabulary of processor and recognizer-side methods and their losses.

``processors``   the processor methods by name (:class:`~.processors.MethodSpec`: loss, the
                 recognizer role it needs, the options it records, its table label)
``recognizers``  the recognizer-side classifier methods by name, and the names of the plain
                 classifier trainings
``losses``       the loss terms the processor methods are built from

The zoo's listings, the tables and the trainers all read these rows; :func:`list_methods`
shows both kinds.
"""

from __future__ import annotations

from .processors import METHOD_LABELS, METHODS, get_method, list_processor_methods
from .recognizers import RECOGNIZER_METHODS, get_recognizer_method, list_recognizer_methods

__all__ = ["METHODS", "METHOD_LABELS", "RECOGNIZER_METHODS", "get_method",
           "get_recognizer_method", "list_methods"]


def list_methods() -> list[dict]:
    """Processor methods (kind ``processor``), then the recognizer-side classifier methods
    (kind ``classifier``), one dict each."""
    return list_processor_methods() + list_recognizer_methods()
