"""Data: datasets by name behind one protocol, and the degradation tasks (the first stage of the flow).

``datasets``  Fashion-MNIST (embedded default), CIFAR-10, ImageFolder, synthetic; splits; batches.
``tasks``     degradations by name (sr, denoise, jpeg, their randomized versions, compound),
              deterministic per image index in evaluation.
"""
