"""Dataset loaders, one module per file format; each loader is ``load_*(root, official,
**options)`` returning a dataset of the official split ``official`` ("train" or "test", and
"val" where a folder has its own).

``idx``          Fashion-MNIST from IDX files
``cifar``        CIFAR-10 in torchvision's python layout (batches unpickled without code)
``synthetic``    labelled gratings made from a seed
``imagefolder``  class folders of image files, with or without split folders
"""
