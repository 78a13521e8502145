"""Training: the fit engine, one trainer per model kind, lambda selection and the zoo recipe.

``engine``           set-up every trainer shares, the epochs (resumable, torchrun), the checkpoint
``state``            the resumable training state: its identity, reading it back safely
``classifiers``      train_classifier: standard or PGD-L2 adversarial classifiers
``recognizer_side``  train_recognizer: classifiers trained for degraded inputs
``processors``       train_processor: SRResNet processors with any processor method
``selection``        lambda chosen on the validation split
``recipe``           the embedded zoo as data: what build-zoo trains
``build``            build-zoo: every missing recipe entry, dependencies first, under locks

The methods and losses the trainers use are specs in :mod:`analysis.methods`.
"""
