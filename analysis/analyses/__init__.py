"""Analyses over the runner's outputs: accuracy (evaluate), image quality, decision boundaries
(BD / IBD, 2-D maps), t-SNE features and the float16 storage check."""
