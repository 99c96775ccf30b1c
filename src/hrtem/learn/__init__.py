"""CNNs trained on simulated images (thesis ch. 6): labels, data, network, training, post-processing, metrics.

Conventions (shared by every module of this package)
----------------------------------------------------
* Images are indexed ``[x, y]``; pixel ``(i, j)`` has its centre at
  ``(i·δ, j·δ)`` Å for a pixel size δ = ``sampling_a``.
* Batches are ``(batch, nx, ny, channels)`` float32.
* Atom positions are ``(N, 2)`` arrays ``[x, y]`` in Å, origin at pixel (0, 0)'s centre.
* Label and probability maps have K + 1 channels: 0 = background, k = class k.

Modules: :mod:`hrtem.learn.labels` (Gaussian label maps), :mod:`hrtem.learn.data`
(exit waves stored once, random microscopes per training image, ``tf.data``),
:mod:`hrtem.learn.network`, :mod:`hrtem.learn.postprocess`, :mod:`hrtem.learn.metrics`.
TensorFlow is imported only where a dataset or a network is built.
"""

from __future__ import annotations

__all__: list[str] = []
