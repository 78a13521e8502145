"""RA Explorer: recognition-aware image processing, trained and analysed.

Conventions (see README.md): images are float tensors in [0, 1] of shape
(N, C, H, W); classifiers normalise their own inputs; distances are L2 norms in
[0, 1] pixel units; everything random takes a seed.
"""

__version__ = "0.1.0"
