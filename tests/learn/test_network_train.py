"""Network shapes and initialisation, losses, training: resume after a kill, overfitting a tiny set, model files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from hrtem.errors import HrtemError  # noqa: E402
from hrtem.learn.metrics import match  # noqa: E402
from hrtem.learn.network import bilinear_kernel, build_network, make_loss, recalibrate_batch_norm  # noqa: E402
from hrtem.learn.postprocess import find_atoms  # noqa: E402
from hrtem.learn.train import load_model, predict, read_model_info, save_model, train  # noqa: E402

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
import synthetic  # noqa: E402


@pytest.mark.parametrize("skip", ["add", "concat"])
def test_network_shapes_and_softmax(skip):
    m = build_network(3, input_channels=2, width=4, depth=2, skip=skip)
    y = np.asarray(m(np.random.default_rng(0).normal(size=(2, 16, 24, 2)).astype(np.float32)))
    assert y.shape == (2, 16, 24, 3)
    assert np.allclose(y.sum(-1), 1.0, atol=1e-5) and (y >= 0).all()
    c = build_network(0, width=4, depth=2, head="classify", n_categories=5)
    assert c(np.zeros((3, 16, 16, 1), np.float32)).shape == (3, 5)
    with pytest.raises(HrtemError):
        build_network(1)
    with pytest.raises(HrtemError):
        build_network(2, skip="mul")


def test_batch_norm_recalibration_makes_inference_match_batch_statistics():
    import keras

    keras.utils.set_random_seed(0)
    m = build_network(2, 1, width=2, depth=1, head="classify", n_categories=3, residual_convs=1)
    g = np.random.default_rng(0)
    x = (3.0 + 2.0 * g.normal(size=(6, 16, 16, 1))).astype(np.float32)  # far from the initial stats (0, 1)
    weights = [w.copy() for w in m.get_weights()]
    bns = [la for la in m.layers if isinstance(la, keras.layers.BatchNormalization)]
    train_mode = np.asarray(m(x, training=True))
    assert np.abs(np.asarray(m(x, training=False)) - train_mode).max() > 1e-2  # the fresh statistics do not fit
    # the same batch three times: the mean over batches is that batch's statistics
    assert recalibrate_batch_norm(m, [x, x, (x, None)]) == 3
    np.testing.assert_allclose(np.asarray(m(x, training=False)), train_mode, atol=2e-3)
    assert all(la.momentum == pytest.approx(0.9) for la in bns)  # momentum restored
    # only the statistics changed: trainable weights are the same
    trainable = {id(v) for v in m.trainable_weights}
    for v, w in zip(m.weights, weights):
        if id(v) in trainable:
            np.testing.assert_array_equal(np.asarray(v), w)


def test_fused_batch_norm_is_the_same_layer(tmp_path):
    """The fused training kernel gives Keras's outputs, gradients and moving statistics (to rounding),
    including the biased batch variance in the moving average (n = 2·4·4 = 32 pixels, so the fused
    kernel's Bessel-corrected variance would be 1/31 off), and a saved model loads back with it."""
    import keras
    import tensorflow as tf

    from hrtem.learn.network import FusedBatchNormalization

    keras.utils.set_random_seed(3)
    plain = build_network(4, 2, width=3, depth=1, residual_convs=1)
    fused = build_network(4, 2, width=3, depth=1, residual_convs=1, fused_batch_norm=True)
    assert sum(isinstance(la, FusedBatchNormalization) for la in fused.layers) == 9  # 3 levels x 3 convs
    assert not any(isinstance(la, FusedBatchNormalization) for la in plain.layers)
    fused.set_weights(plain.get_weights())
    g = np.random.default_rng(4)
    x = tf.constant((2.0 + 3.0 * g.normal(size=(2, 4, 4, 2))).astype(np.float32))
    y = tf.constant(np.eye(4, dtype=np.float32)[g.integers(4, size=(2, 4, 4))])
    loss = make_loss("cross_entropy")

    def step(m):
        with tf.GradientTape() as tape:
            out = m(x, training=True)
            value = loss(y, out)
        return np.asarray(out), tape.gradient(value, m.trainable_variables)

    out_p, grad_p = step(plain)
    out_f, grad_f = step(fused)
    np.testing.assert_allclose(out_f, out_p, atol=1e-5)
    for a, b in zip(grad_f, grad_p):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-4 * float(np.abs(np.asarray(b)).max()) + 1e-7)
    moving_p = [np.asarray(v) for v in plain.non_trainable_weights]
    moving_f = [np.asarray(v) for v in fused.non_trainable_weights]
    assert max(np.abs(a - 1).max() for a in moving_p[1::2]) > 0.1  # the variances moved away from 1
    for a, b in zip(moving_f, moving_p):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(fused(x, training=False)), np.asarray(plain(x, training=False)), atol=1e-5)
    path = save_model(fused, tmp_path / "fused.keras", {"sampling_a": 0.1, "input_channels": 2, "n_classes": 3})
    back, _ = load_model(path)
    assert sum(isinstance(la, FusedBatchNormalization) for la in back.layers) == 9
    np.testing.assert_allclose(np.asarray(back(x, training=False)), np.asarray(fused(x, training=False)), atol=1e-6)


def test_transposed_convolution_starts_as_bilinear_upsampling():
    import keras

    layer = keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", use_bias=False)
    layer.build((None, 8, 8, 1))
    layer.kernel.assign(bilinear_kernel(4, 1, 1))
    ramp = (np.arange(8.0)[:, None] + 2 * np.arange(8.0)[None, :]).astype(np.float32)[None, :, :, None]
    up = np.asarray(layer(ramp))[0, :, :, 0]
    # away from the edges a linear ramp stays linear with half the slope (bilinear interpolation)
    inner = up[2:-2, 2:-2]
    assert np.allclose(np.diff(inner, axis=0), 0.5, atol=1e-5)
    assert np.allclose(np.diff(inner, axis=1), 1.0, atol=1e-5)
    # the kernel maps channel i to channel i only
    k = bilinear_kernel(4, 2, 3)
    assert k[:, :, 0, 1].sum() == 0 and k[:, :, 1, 1].sum() == pytest.approx(4.0)


def test_losses_have_their_values():
    yt = np.zeros((2, 4, 4, 2), np.float32)
    yt[..., 0] = 1
    yp = np.full((2, 4, 4, 2), 0.5, np.float32)
    # sum of squared errors per image: 16 pixels × 2 channels × 0.25, mean over batch
    assert float(make_loss("sse")(yt, yp)) == pytest.approx(8.0)
    assert float(make_loss("cross_entropy")(yt, yp)) == pytest.approx(16 * np.log(2), rel=1e-5)
    w = make_loss("weighted_cross_entropy", [2.0, 1.0])
    assert float(w(yt, yp)) == pytest.approx(32 * np.log(2), rel=1e-5)
    with pytest.raises(HrtemError):
        make_loss("weighted_cross_entropy")


@pytest.mark.parametrize("predicted, distance", [(3, 0), (4, 1), (2, 1), (5, 2), (6, 3), (1, 2)])
def test_ordinal_loss_charges_a_height_by_its_distance(predicted, distance):
    """One column pixel of true height 3 (classes 1 … 6 after the background), predicted as one
    height: the squared earth mover's distance between the two is the height difference, and the
    background pixels (no column mass) add nothing."""
    yt = np.zeros((1, 2, 2, 7), np.float32)
    yt[..., 0] = 1.0
    yt[0, 0, 0] = 0.0
    yt[0, 0, 0, 3] = 1.0
    yp = yt.copy()
    yp[0, 0, 0] = 0.0
    yp[0, 0, 0, predicted] = 1.0
    ce = make_loss("cross_entropy")
    both = make_loss("cross_entropy", ordinal_weight=2.0)
    assert float(both(yt, yp)) - float(ce(yt, yp)) == pytest.approx(2.0 * distance, abs=1e-4)
    # a distribution split between heights 2 and 4 is one step from 3 on either side: 0.5² + 0.5²
    yp[0, 0, 0] = 0.0
    yp[0, 0, 0, 2] = yp[0, 0, 0, 4] = 0.5
    assert float(both(yt, yp)) - float(ce(yt, yp)) == pytest.approx(2.0 * 0.5, abs=1e-4)
    with pytest.raises(HrtemError, match="ordinal"):
        make_loss("cross_entropy", ordinal_weight=-1.0)


def _tiny():
    return build_network(2, width=4, depth=1, residual_convs=1)


RUN_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    sys.path.insert(0, {here!r})
    import synthetic
    from hrtem.learn.network import build_network
    from hrtem.learn.train import configure_tensorflow, train
    configure_tensorflow(threads=1)
    def kill(step):
        if {kill} and step == 5:  # checkpoint at 4, step 5 done and lost
            os.kill(os.getpid(), signal.SIGKILL)
    res = train(lambda: build_network(2, width=4, depth=1, residual_convs=1), synthetic.batches(7), 8, {workdir!r},
                {seed}, learning_rate=1e-2, schedule={schedule!r}, checkpoint_every=2, log_every=1, on_step=kill,
                progress=False)
    np.savez({workdir!r} + "/final.npz", resumed_from=res.resumed_from, *[np.asarray(w) for w in res.model.weights])
    """
)


def _run(workdir: Path, kill: bool, seed: int = 3, schedule: str = "constant") -> int:
    # every run in a fresh process with one thread, as a real restart would be
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="3")
    code = RUN_SCRIPT.format(here=str(HERE), workdir=str(workdir), kill=kill, seed=seed, schedule=schedule)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True)
    if proc.returncode not in (0, -9):
        raise AssertionError(proc.stderr.decode()[-3000:])
    return proc.returncode


def _final(workdir: Path) -> tuple[int, list[np.ndarray]]:
    with np.load(workdir / "final.npz") as f:
        return int(f["resumed_from"]), [f[f"arr_{i}"] for i in range(len(f.files) - 1)]


@pytest.mark.slow
@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_killed_training_resumes_to_the_same_weights(tmp_path, schedule):
    from hrtem.learn.train import read_history

    killed, whole = tmp_path / "killed", tmp_path / "whole"
    assert _run(killed, kill=True, schedule=schedule) == -9
    with np.load(killed / "checkpoint.npz") as ck:
        assert int(ck["step"]) == 4
    assert _run(killed, kill=False, schedule=schedule) == 0
    assert _run(whole, kill=False, schedule=schedule) == 0
    r_from, resumed = _final(killed)
    w_from, uninterrupted = _final(whole)
    assert (r_from, w_from) == (4, 0)
    assert len(resumed) == len(uninterrupted) > 10
    for a, b in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(a, b)
    # the history is continuous: steps 1..8 once each
    assert [r["step"] for r in read_history(killed / "history.csv")] == list(range(1, 9))


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_cosine_schedule_ends_with_vanishing_steps(tmp_path, schedule):
    """Adam's step is about the learning rate: under the cosine decay over 8 steps the last
    update is 0.5·(1 + cos(7π/8)) ≈ 0.04 of the first; at a constant rate it is of the same size."""
    import synthetic

    from hrtem.learn.train import train

    held: dict = {}
    snaps: list = []

    def build():
        held["model"] = _tiny()
        snaps.append([np.array(w) for w in held["model"].trainable_weights])
        return held["model"]

    def grab(step):
        snaps.append([np.array(w) for w in held["model"].trainable_weights])

    train(build, synthetic.batches(7), 8, tmp_path, 3, learning_rate=1e-2, schedule=schedule, checkpoint_every=100,
          log_every=100, on_step=grab, progress=False)

    def size(a, b):
        return float(np.sqrt(sum(float(np.sum((x - y) ** 2)) for x, y in zip(a, b))))

    ratio = size(snaps[8], snaps[7]) / size(snaps[1], snaps[0])
    if schedule == "cosine":
        assert ratio < 0.1
    else:
        assert ratio > 0.3
    with pytest.raises(HrtemError, match="schedule"):
        train(build, synthetic.batches(7), 1, tmp_path / "x", 3, schedule="linear", progress=False)


def test_tiny_network_overfits_a_tiny_set(tmp_path):
    # four fixed images, seen over and over
    fixed = [synthetic.sample(11, i, n=32, noise=0.05) for i in range(4)]
    x = np.stack([f[0] for f in fixed])
    y = np.stack([f[1] for f in fixed])

    def gen(start):
        while True:
            yield x, y

    def validate(model):
        probs = predict(model, x)
        tp = fp = fn = 0
        for p, f in zip(probs, fixed):
            pos, _, _ = find_atoms(p, 0.25, threshold=0.1)  # isolated atoms: ratio ≈ 0.23 (see postprocess tests)
            m = match(pos, f[2], 0.5)
            tp, fp, fn = tp + m.tp, fp + m.fp, fn + m.fn
        return {"precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1)}

    res = train(
        lambda: build_network(2, width=8, depth=1, residual_convs=1),
        gen, 250, tmp_path, 0, learning_rate=3e-3, log_every=50, validate=validate, validate_every=250, progress=False,
    )
    first, last = res.history[0]["loss"], res.history[-1]["loss"]
    assert last < 0.1 * first, (first, last)
    assert res.history[-1]["precision"] == 1.0 and res.history[-1]["recall"] == 1.0


def test_model_file_carries_its_settings(tmp_path):
    m = _tiny()
    info = {"sampling_a": 0.12, "input_channels": 1, "n_classes": 1, "label_sigma_a": 0.4}
    path = save_model(m, tmp_path / "m.keras", info)
    back, meta = load_model(path)
    assert meta["sampling_a"] == 0.12 and meta["n_classes"] == 1
    x = np.random.default_rng(1).normal(size=(1, 16, 16, 1)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(back(x)), np.asarray(m(x)), atol=1e-6)
    # a Keras model that is not ours, a file that is not a model
    m.save(tmp_path / "plain.keras")
    with pytest.raises(HrtemError, match="not an hrtem model"):
        read_model_info(tmp_path / "plain.keras")
    (tmp_path / "junk.keras").write_text("hello")
    with pytest.raises(HrtemError, match="not a .keras"):
        load_model(tmp_path / "junk.keras")
    with pytest.raises(HrtemError, match="does not exist"):
        load_model(tmp_path / "missing.keras")
    assert zipfile.is_zipfile(path)
