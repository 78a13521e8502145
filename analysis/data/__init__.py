"""Data: datasets by name behind one protocol, and the degradation tasks (the first stage of the flow).

``datasets``    the registry: dataset kinds by name as spec rows, ``load_dataset``, normal forms
``formats``     one loader per file format (IDX, CIFAR-10, image folders, synthetic)
``containers``  the protocol's containers (``DatasetInfo``, in-memory datasets, subsets)
``categories``  class subsets relabelled 0..k-1 (the ``categories`` option: halves a / b fixed
                by seed, or class indices)
``canvases``    detection canvases made from a classification dataset (the ``canvas`` kind)
``batches``     iteration in batches (shuffles, ``--sample`` samples, shards per rank)
``sampling``    ``--sample N`` as a seeded class-stratified sample
``folders``     each dataset's folder name and results folder
``tasks``       degradations by name (sr, denoise, jpeg, their randomized versions, compound),
                deterministic per image index in evaluation.
"""
