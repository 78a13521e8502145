"""RA Explorer: recognition-aware image processing, trained and analysed.

Conventions (see README.md): images are float tensors in [0, 1] of shape
(N, C, H, W); classifiers normalise their own inputs; distances are L2 norms in
[0, 1] pixel units; everything random takes a seed.
"""

from .config import version as _version

__version__ = _version()
