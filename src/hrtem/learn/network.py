"""FusionNet-like encoder-decoder for atom/column segmentation (thesis §6.2, SCIENCE.md §4).

The network maps an image batch ``(batch, nx, ny, C)`` to per-pixel class
probabilities ``(batch, nx, ny, n_outputs)`` (channel 0 = background, channel
k = class k) through a softmax. Each resolution level is

    conv 3×3 → residual block (3 convs 3×3, additive skip) → conv 3×3

with batch normalisation and ReLU after every convolution; the encoder
max-pools ``depth`` times (the thesis: three poolings, filters 32 → 256), the
decoder upsamples with transposed convolutions initialised as bilinear
interpolation and joins the encoder level of the same size by an additive long
skip (FusionNet) or by concatenation (U-Net). A final 1×1 convolution and
softmax give the probabilities. ``head="classify"`` replaces the decoder by
global average pooling and a dense softmax over ``n_categories`` (whole-image
classes, e.g. particle shapes).

Losses: the thesis's sum of squared errors (default), cross-entropy and a
class-weighted cross-entropy; L2 weight decay enters through the kernels'
regularisers and is added to the loss by Keras. Optimiser: Adam, learning rate
1e-4 (the thesis saw checkerboard artefacts at 1e-3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hrtem.errors import HrtemError

__all__ = [
    "BilinearUpsampling",
    "FusedBatchNormalization",
    "build_network",
    "network_from_settings",
    "make_loss",
    "compile_network",
    "recalibrate_batch_norm",
    "LOSSES",
    "custom_objects",
]

#: loss names accepted by :func:`make_loss`
LOSSES = ("sse", "cross_entropy", "weighted_cross_entropy")


def _keras():
    import keras

    return keras


def bilinear_kernel(size: int, channels_out: int, channels_in: int) -> np.ndarray:
    """Transposed-convolution kernel ``(size, size, out, in)`` that upsamples bilinearly.

    Channel ``i`` of the output interpolates channel ``i`` of the input (for
    ``i < min(out, in)``); other pairs start at zero.
    """
    factor = (size + 1) // 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    og = np.arange(size)
    f1 = 1.0 - np.abs(og - centre) / factor
    filt = np.outer(f1, f1).astype(np.float32)
    kernel = np.zeros((size, size, channels_out, channels_in), np.float32)
    for i in range(min(channels_out, channels_in)):
        kernel[:, :, i, i] = filt
    return kernel


def _register(cls):
    return _keras().saving.register_keras_serializable(package="hrtem")(cls)


@_register
class BilinearUpsampling(_keras().initializers.Initializer):
    """Keras initialiser for a ``Conv2DTranspose`` kernel: bilinear interpolation (stride 2, kernel 4)."""

    def __call__(self, shape, dtype=None):
        size, size2, out, inp = shape
        if size != size2:
            raise ValueError(f"bilinear kernel must be square, got {shape}")
        return _keras().ops.convert_to_tensor(bilinear_kernel(size, out, inp), dtype=dtype or "float32")

    def get_config(self):
        return {}


#: batch-norm momentum of the moving statistics (Keras's 0.99 needs thousands of
#: steps before inference matches training; 0.9 suits short training budgets)
BN_MOMENTUM = 0.9


@_register
class FusedBatchNormalization(_keras().layers.BatchNormalization):
    """Keras's batch normalisation with TensorFlow's fused kernel for the training step.

    The same layer (parameters, ε, momentum, inference with the moving
    statistics, which it leaves to Keras) except that a training-mode call on
    a 4-D ``(batch, nx, ny, channels)`` float32 tensor with the TensorFlow
    backend runs ``FusedBatchNormV3`` and its fused gradient instead of
    Keras's moments and element-wise normalisation. The width-8 counting
    network's training step on one CPU thread took 0.76 of the time
    (``benchmarks/bench_train_step.py``, median of interleaved rounds; measured
    for issue 11: about what the step costs without batch normalisation at all). The normalisation is the same; the rounding is
    not, so a network trained with it is not bit for bit the one trained
    with Keras's layer. The moving variance is updated with the batch's own
    (biased) variance, as Keras's layer does: the fused kernel returns the
    Bessel-corrected one, which is rescaled by (n − 1)/n, n the pixels × batch.
    Anything else (a mask, renormalisation, another axis or dtype or backend)
    falls back to Keras's call.
    """

    def call(self, inputs, training=None, mask=None):
        keras = _keras()
        fused = (
            training and self.trainable and mask is None and not self.renorm and self.scale and self.center
            and keras.backend.backend() == "tensorflow" and len(inputs.shape) == 4
            and self.axis in (-1, 3) and inputs.dtype == "float32"
        )
        if not fused:
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, data_format="NHWC", is_training=True
        )
        n = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], variance.dtype)
        variance = variance * (n - 1.0) / tf.maximum(n, 2.0)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return y


def _conv(x, filters: int, name: str, weight_decay: float, batch_norm: bool, kernel: int = 3,
          fused_batch_norm: bool = False):
    keras = _keras()
    reg = keras.regularizers.L2(weight_decay) if weight_decay > 0 else None
    x = keras.layers.Conv2D(
        filters, kernel, padding="same", use_bias=not batch_norm, kernel_regularizer=reg, name=f"{name}_conv"
    )(x)
    if batch_norm:
        layer = FusedBatchNormalization if fused_batch_norm else keras.layers.BatchNormalization
        x = layer(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def _level(x, filters: int, name: str, weight_decay: float, batch_norm: bool, residual_convs: int,
           fused_batch_norm: bool = False):
    """conv → residual block (``residual_convs`` convs + additive skip) → conv."""
    keras = _keras()
    x = _conv(x, filters, f"{name}_in", weight_decay, batch_norm, fused_batch_norm=fused_batch_norm)
    r = x
    for i in range(residual_convs):
        r = _conv(r, filters, f"{name}_res{i}", weight_decay, batch_norm, fused_batch_norm=fused_batch_norm)
    x = keras.layers.Add(name=f"{name}_residual")([x, r])
    return _conv(x, filters, f"{name}_out", weight_decay, batch_norm, fused_batch_norm=fused_batch_norm)


def build_network(
    n_outputs: int,
    input_channels: int = 1,
    width: int = 32,
    depth: int = 3,
    skip: str = "add",
    head: str = "segment",
    n_categories: int | None = None,
    weight_decay: float = 1e-5,
    batch_norm: bool = True,
    residual_convs: int = 3,
    max_width: int | None = None,
    name: str = "fusionnet",
    fused_batch_norm: bool = False,
):
    """Build the FusionNet-like network (a :class:`keras.Model`, not compiled).

    Parameters
    ----------
    n_outputs
        Output channels of the segmentation head: background + K classes (K + 1 ≥ 2).
    input_channels
        Channels of the input image (1, or several for a focal series).
    width
        Filters of the first level; doubled at each pooling (thesis: 32 → 256 with depth 3).
    depth
        Number of poolings (thesis: 3). Input sizes must be multiples of 2**depth.
    skip
        ``"add"`` (FusionNet: additive long skips) or ``"concat"`` (U-Net).
    head
        ``"segment"`` (per-pixel softmax over ``n_outputs``) or ``"classify"``
        (global pooling + dense softmax over ``n_categories``).
    n_categories
        Number of whole-image categories for ``head="classify"``.
    weight_decay
        L2 coefficient on every convolution kernel (added to the loss).
    batch_norm
        Batch normalisation after each convolution (thesis: yes).
    residual_convs
        Convolutions inside each residual block (thesis: 3).
    max_width
        Cap on the number of filters of the deepest levels (None = no cap).
    name
        The model's name.
    fused_batch_norm
        Train the batch normalisation with TensorFlow's fused kernel
        (:class:`FusedBatchNormalization`: the same layer, a faster training
        step on the CPU, other rounding).
    """
    keras = _keras()
    if skip not in ("add", "concat"):
        raise HrtemError(f"learn.network.skip must be 'add' or 'concat', got {skip!r}")
    if head not in ("segment", "classify"):
        raise HrtemError(f"learn.network.head must be 'segment' or 'classify', got {head!r}")
    if head == "segment" and n_outputs < 2:
        raise HrtemError(f"a segmentation network needs background + at least one class, got n_outputs={n_outputs}")
    if head == "classify" and (n_categories is None or n_categories < 2):
        raise HrtemError("head='classify' needs n_categories ≥ 2")
    if depth < 0 or width < 1 or input_channels < 1:
        raise HrtemError(f"learn.network: need depth ≥ 0, width ≥ 1, input_channels ≥ 1 (got {depth}, {width}, {input_channels})")

    def filters(level: int) -> int:
        f = width * 2**level
        return min(f, max_width) if max_width else f

    inputs = keras.Input(shape=(None, None, input_channels), name="image")
    x = inputs
    skips = []
    for lvl in range(depth):
        x = _level(x, filters(lvl), f"down{lvl}", weight_decay, batch_norm, residual_convs, fused_batch_norm)
        skips.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{lvl}")(x)
    x = _level(x, filters(depth), "bridge", weight_decay, batch_norm, residual_convs, fused_batch_norm)
    if head == "classify":
        x = keras.layers.GlobalAveragePooling2D(name="pool_global")(x)
        outputs = keras.layers.Dense(n_categories, activation="softmax", name="categories")(x)
        return keras.Model(inputs, outputs, name=name)
    reg = keras.regularizers.L2(weight_decay) if weight_decay > 0 else None
    for lvl in reversed(range(depth)):
        x = keras.layers.Conv2DTranspose(
            filters(lvl),
            4,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=BilinearUpsampling(),
            kernel_regularizer=reg,
            name=f"up{lvl}_deconv",
        )(x)
        if skip == "add":
            x = keras.layers.Add(name=f"up{lvl}_skip")([x, skips[lvl]])
        else:
            x = keras.layers.Concatenate(name=f"up{lvl}_skip")([x, skips[lvl]])
        x = _level(x, filters(lvl), f"up{lvl}", weight_decay, batch_norm, residual_convs, fused_batch_norm)
    logits = keras.layers.Conv2D(n_outputs, 1, kernel_regularizer=reg, name="logits")(x)
    outputs = keras.layers.Softmax(axis=-1, name="probabilities")(logits)
    return keras.Model(inputs, outputs, name=name)


def network_from_settings(network: Mapping[str, Any], n_outputs: int, input_channels: int):
    """:func:`build_network` (segmentation head) from a ``learn.network`` section (defaults filled in)."""
    return build_network(
        n_outputs,
        input_channels=int(input_channels),
        width=int(network["width"]),
        depth=int(network["depth"]),
        skip=network["skip"],
        weight_decay=float(network["weight_decay"]),
        batch_norm=bool(network["batch_norm"]),
        residual_convs=int(network["residual_convs"]),
        fused_batch_norm=bool(network["fused_batch_norm"]),
    )


def make_loss(name: str = "sse", class_weights: Sequence[float] | None = None, ordinal_weight: float = 0.0):
    """Loss function ``loss(y_true, y_pred)`` by name (see :data:`LOSSES`).

    ``"sse"``: sum over pixels and channels of the squared error, mean over the
    batch (the thesis's loss). ``"cross_entropy"``: per-pixel categorical
    cross-entropy summed over pixels, mean over the batch. ``"weighted_cross_entropy"``:
    the same with channel ``k`` weighted by ``class_weights[k]`` (e.g. to
    equalise rare classes, abstract 001).

    ``ordinal_weight`` λ > 0 adds, for ordered classes 1 … K (column heights), λ times the
    squared earth mover's distance between the predicted and the true class distributions
    of every pixel, Σ_k (C_pred(k) − C_true(k))² with C the cumulative sums of the classes
    1 … K renormalised to 1, weighted by the pixel's true non-background mass and summed
    like the cross-entropy. Cross-entropy charges a wrong class the same however far it
    is from the truth; this term charges probability by its distance in height, so a
    column's distribution gathers around its height (off by 1 rather than by 2).
    """
    keras = _keras()
    ops = keras.ops
    if name not in LOSSES:
        raise HrtemError(f"learn.train.loss must be one of {', '.join(LOSSES)}, got {name!r}")
    if name == "weighted_cross_entropy" and not class_weights:
        raise HrtemError("learn.train.class_weights must list one weight per output channel for weighted_cross_entropy")
    weights = None if class_weights is None else np.asarray(class_weights, np.float32)
    lam = float(ordinal_weight)
    if not (np.isfinite(lam) and lam >= 0):
        raise HrtemError(f"the ordinal loss weight must be a finite number >= 0, got {ordinal_weight}")

    def sse(y_true, y_pred):
        d = ops.square(y_true - y_pred)
        return ops.mean(ops.sum(ops.reshape(d, (ops.shape(d)[0], -1)), axis=1))

    def cross_entropy(y_true, y_pred):
        p = ops.clip(y_pred, 1e-7, 1.0)
        ce = -y_true * ops.log(p)
        if weights is not None and name == "weighted_cross_entropy":
            ce = ce * ops.convert_to_tensor(weights)
        return ops.mean(ops.sum(ops.reshape(ce, (ops.shape(ce)[0], -1)), axis=1))

    def emd2(y_true, y_pred):
        mt = ops.sum(y_true[..., 1:], axis=-1, keepdims=True)
        mp = ops.sum(y_pred[..., 1:], axis=-1, keepdims=True)
        ct = ops.cumsum(y_true[..., 1:] / ops.maximum(mt, 1e-7), axis=-1)
        cp = ops.cumsum(y_pred[..., 1:] / ops.maximum(mp, 1e-7), axis=-1)
        d = mt[..., 0] * ops.sum(ops.square(cp - ct), axis=-1)
        return ops.mean(ops.sum(ops.reshape(d, (ops.shape(d)[0], -1)), axis=1))

    base = sse if name == "sse" else cross_entropy
    if lam > 0:
        def fn(y_true, y_pred):
            return base(y_true, y_pred) + lam * emd2(y_true, y_pred)
    else:
        fn = base
    fn.__name__ = name
    return fn


def compile_network(model, loss: str = "sse", learning_rate: float = 1e-4, class_weights: Sequence[float] | None = None):
    """Compile ``model`` with Adam(``learning_rate``) and the named loss; return it."""
    keras = _keras()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=make_loss(loss, class_weights))
    return model


def recalibrate_batch_norm(model, batches) -> int:
    """Replace every batch-norm layer's moving statistics by their mean over ``batches``.

    During training the weights move faster than an exponential moving average
    (momentum :data:`BN_MOMENTUM`) follows, so after a short training the stored
    statistics lag the final weights and inference (which uses them) differs
    from training (which uses each batch's own): a shape classifier trained 300
    steps reached 0.62 on its own training particles with batch statistics but
    0.28 with the stored ones. This runs the network in training mode over
    ``batches`` (arrays ``(b, nx, ny, C)``; labels, if given as pairs, are
    ignored) with the momentum of batch k set to k/(k+1), i.e. the plain mean
    over batches ("precise batch norm"); the weights do not change. Returns
    the number of batches used.
    """
    keras = _keras()
    layers = [la for la in model._flatten_layers() if isinstance(la, keras.layers.BatchNormalization)]
    momenta = [la.momentum for la in layers]
    k = 0
    try:
        for batch in batches:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            for la in layers:
                la.momentum = k / (k + 1.0)
            model(x, training=True)
            k += 1
    finally:
        for la, m in zip(layers, momenta):
            la.momentum = m
    return k


def custom_objects() -> dict:
    """Objects needed to load a saved network."""
    return {"BilinearUpsampling": BilinearUpsampling, "FusedBatchNormalization": FusedBatchNormalization}
