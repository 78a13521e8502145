"""Training: losses, methods (as specs), the training loops, lambda selection and the zoo recipe.

``losses``     recognition, unsupervised-RA, perceptual and texture losses
``methods``    the processor training methods by name (MethodSpec owns its options)
``loops``      train_classifier / train_processor with resumable state and DDP
``selection``  lambda chosen on the validation split
``recipe``     the embedded zoo: what build-zoo trains
"""
