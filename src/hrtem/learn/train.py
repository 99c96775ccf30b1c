"""Training loop: seeded, checkpointed, resumable, with a history CSV and a self-describing model file.

:func:`train` runs Adam on a network from :func:`hrtem.learn.network.build_network`
over batches that a callable yields from a given step on (the data generator is
deterministic per step, so a resumed run sees the same batches as an
uninterrupted one). Every ``checkpoint_every`` steps the weights, batch-norm
statistics and optimiser state are written atomically to ``workdir``; a run
started again on the same ``workdir`` continues from the last checkpoint and
ends with the same weights, bit for bit, as a run that was never stopped
(TensorFlow's deterministic ops are switched on). ``history.csv`` gets the
loss every ``log_every`` steps and the validation precision/recall every
``validate_every`` steps. The final model is a ``.keras`` file carrying the
settings that made it (``hrtem.json`` inside the archive: sampling, channels,
classes, label width, post-processing), which :func:`load_model` checks so that
``hrtem detect`` refuses models that are not ours.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hrtem.errors import HrtemError
from hrtem.seeding import int_seed

__all__ = [
    "MODEL_INFO_NAME",
    "FORMAT",
    "configure_tensorflow",
    "TrainResult",
    "train",
    "save_model",
    "load_model",
    "read_model_info",
    "predict",
]

#: name of the JSON member added to the ``.keras`` archive
MODEL_INFO_NAME = "hrtem.json"
#: format tag written into MODEL_INFO_NAME
FORMAT = "hrtem-learn-model/1"

_HISTORY_COLUMNS = ("step", "loss", "precision", "recall", "wall_s")


def configure_tensorflow(threads: int | None = None, device: str = "cpu", deterministic: bool = True) -> str:
    """Set TensorFlow's threads and device before it starts; return the device used.

    ``device``: ``"cpu"`` (hide GPUs; the tested default), ``"gpu"`` (require one),
    ``"auto"`` (a GPU when present). Thread settings only take effect before
    TensorFlow's first operation; later calls leave them as they are.
    """
    import tensorflow as tf

    if device not in ("cpu", "gpu", "auto"):
        raise HrtemError(f"learn.device must be cpu, gpu or auto, got {device!r}")
    try:
        if threads:
            tf.config.threading.set_intra_op_parallelism_threads(int(threads))
            tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(threads))))
        gpus = tf.config.list_physical_devices("GPU")
        if device == "cpu":
            tf.config.set_visible_devices([], "GPU")
        elif device == "gpu" and not gpus:
            raise HrtemError("learn.device is 'gpu' but TensorFlow sees no GPU; set learn.device to cpu or auto")
    except RuntimeError:  # already initialised: keep the settings in force
        pass
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    visible = tf.config.get_visible_devices("GPU")
    return "gpu" if visible and device != "cpu" else "cpu"


@dataclass
class TrainResult:
    """What :func:`train` did: the model, the step reached, the history rows, speed."""

    model: Any
    step: int
    history: list[dict] = field(default_factory=list)
    steps_per_s: float = float("nan")
    resumed_from: int = 0


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_history(path: Path, rows: list[dict]) -> None:
    lines = [",".join(_HISTORY_COLUMNS)]
    for r in rows:
        lines.append(",".join("" if r.get(c) is None else f"{r[c]:.6g}" if isinstance(r[c], float) else str(r[c]) for c in _HISTORY_COLUMNS))
    _atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``history.csv`` (empty fields as None)."""
    p = Path(path)
    if not p.exists():
        return []
    lines = p.read_text().strip().splitlines()
    head = lines[0].split(",")
    rows = []
    for line in lines[1:]:
        vals = line.split(",")
        row: dict = {}
        for k, v in zip(head, vals):
            row[k] = None if v == "" else (int(v) if k == "step" else float(v))
        rows.append(row)
    return rows


def _save_checkpoint(workdir: Path, model, optimizer, step: int) -> None:
    import io

    arrays = {f"w{i}": np.asarray(v.numpy()) for i, v in enumerate(model.weights)}
    arrays.update({f"o{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)})
    buf = io.BytesIO()
    np.savez(buf, step=np.int64(step), **arrays)
    _atomic_write_bytes(workdir / "checkpoint.npz", buf.getvalue())


def _load_checkpoint(workdir: Path, model, optimizer) -> int:
    path = workdir / "checkpoint.npz"
    if not path.exists():
        return 0
    with np.load(path) as data:
        nw = sum(1 for k in data.files if k.startswith("w"))
        no = sum(1 for k in data.files if k.startswith("o"))
        if nw != len(model.weights) or no != len(optimizer.variables):
            raise HrtemError(
                f"checkpoint {path} does not fit this network ({nw} vs {len(model.weights)} weights); "
                "delete the training folder or use the network settings that wrote it"
            )
        for i, v in enumerate(model.weights):
            v.assign(data[f"w{i}"])
        for i, v in enumerate(optimizer.variables):
            v.assign(data[f"o{i}"])
        return int(data["step"])


def train(
    build: Callable[[], Any],
    batches: Callable[[int], Iterable[tuple[np.ndarray, np.ndarray]]],
    steps: int,
    workdir: str | os.PathLike,
    seed: int,
    *,
    learning_rate: float = 1e-4,
    schedule: str = "constant",
    loss: str = "sse",
    ordinal_weight: float = 0.0,
    class_weights: list[float] | None = None,
    checkpoint_every: int = 100,
    log_every: int = 10,
    validate: Callable[[Any], Mapping[str, float]] | None = None,
    validate_every: int | None = None,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    """Train a network, resuming from ``workdir`` when it holds a checkpoint.

    Parameters
    ----------
    build
        Returns a fresh, uncompiled Keras model (called once, after seeding).
    batches
        ``batches(start_step)`` yields ``(images, labels)`` for steps
        ``start_step, start_step + 1, …`` (deterministic per step).
    steps
        Total number of optimiser steps.
    workdir
        Folder for ``checkpoint.npz`` and ``history.csv``.
    seed
        Config seed: sets the initial weights (via :mod:`hrtem.seeding`).
    learning_rate, loss, class_weights
        Adam's rate and the loss of :func:`hrtem.learn.network.make_loss`.
    schedule
        ``"constant"`` or ``"cosine"`` (decay from ``learning_rate`` to 0 over
        ``steps``; a resumed run continues the curve, the step count is the
        optimiser's).
    ordinal_weight
        Weight of the squared earth mover's distance between height classes
        (:func:`hrtem.learn.network.make_loss`); 0 = none.
    checkpoint_every, log_every
        Steps between checkpoints, and between history rows / progress lines.
    validate, validate_every
        ``validate(model) -> {"precision": …, "recall": …}``, called every
        ``validate_every`` steps and at the end.
    progress
        Print one line per history row to stderr.
    on_step
        Called with the step number after each step (tests use it to kill a run).
    """
    import keras
    import tensorflow as tf

    from hrtem.learn.network import make_loss

    if steps < 0 or checkpoint_every < 1 or log_every < 1:
        raise HrtemError("learn.train: steps ≥ 0, checkpoint_every ≥ 1 and log_every ≥ 1 are required")
    if schedule not in ("constant", "cosine"):
        raise HrtemError(f"learn.train.schedule must be 'constant' or 'cosine', got {schedule!r}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(int_seed(seed, "learn", "init"))
    model = build()
    rate = keras.optimizers.schedules.CosineDecay(learning_rate, max(int(steps), 1)) if schedule == "cosine" else learning_rate
    optimizer = keras.optimizers.Adam(rate)
    optimizer.build(model.trainable_variables)
    loss_fn = make_loss(loss, class_weights, ordinal_weight)
    start = _load_checkpoint(workdir, model, optimizer)
    history = [r for r in read_history(workdir / "history.csv") if r["step"] <= start] if start else []
    if start > steps:
        raise HrtemError(f"{workdir} holds a checkpoint at step {start} beyond learn.train.steps={steps}; delete it")

    @tf.function(reduce_retracing=True)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            value = loss_fn(y, pred)
            if model.losses:
                value = value + tf.add_n(model.losses)
        grads = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return value

    t0 = time.perf_counter()
    done = 0
    losses: list[float] = []
    step = start
    iterator: Iterator = iter(batches(start)) if start < steps else iter(())
    while step < steps:
        x, y = next(iterator)
        value = float(train_step(tf.convert_to_tensor(x, tf.float32), tf.convert_to_tensor(y, tf.float32)))
        if not np.isfinite(value):
            raise HrtemError(f"training diverged at step {step + 1} (loss {value}); lower learn.train.learning_rate")
        step += 1
        done += 1
        losses.append(value)
        row = None
        if step % log_every == 0 or step == steps:
            row = {"step": step, "loss": float(np.mean(losses)), "precision": None, "recall": None}
            losses = []
        if validate is not None and validate_every and (step % validate_every == 0 or step == steps):
            row = row or {"step": step, "loss": value, "precision": None, "recall": None}
            res = validate(model)
            row["precision"] = float(res.get("precision", np.nan))
            row["recall"] = float(res.get("recall", np.nan))
        if row is not None:
            wall = time.perf_counter() - t0
            row["wall_s"] = wall
            history.append(row)
            _write_history(workdir / "history.csv", history)
            if progress:
                rate = done / wall if wall > 0 else float("nan")
                eta = (steps - step) / rate if rate > 0 else float("nan")
                pr = "" if row["precision"] is None else f" val P {row['precision']:.3f} R {row['recall']:.3f}"
                print(
                    f"[learn] step {step}/{steps} loss {row['loss']:.4g}{pr} {rate:.2f} steps/s eta {eta:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        if step % checkpoint_every == 0 or step == steps:
            _save_checkpoint(workdir, model, optimizer, step)
        if on_step is not None:
            on_step(step)
    wall = time.perf_counter() - t0
    return TrainResult(model, step, history, done / wall if done and wall > 0 else float("nan"), start)


def save_model(model, path: str | os.PathLike, info: Mapping[str, Any]) -> Path:
    """Write ``model`` as ``.keras`` with ``info`` (JSON) inside the archive; atomic."""
    path = Path(path)
    if path.suffix != ".keras":
        raise HrtemError(f"model path {path} must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}.keras")
    model.save(tmp)
    meta = {"format": FORMAT, **dict(info)}
    with zipfile.ZipFile(tmp, "a") as z:
        z.writestr(MODEL_INFO_NAME, json.dumps(meta, indent=1, sort_keys=True, default=_json_default))
    os.replace(tmp, path)
    return path


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o))


def read_model_info(path: str | os.PathLike) -> dict:
    """The settings stored in a model file by :func:`save_model`; HrtemError when it is not ours."""
    path = Path(path)
    if not path.is_file():
        raise HrtemError(f"model file {path} does not exist; train one with `hrtem learn train` or give the right path")
    try:
        with zipfile.ZipFile(path) as z:
            if MODEL_INFO_NAME not in z.namelist():
                raise HrtemError(f"{path} is a Keras file but not an hrtem model (no {MODEL_INFO_NAME}); use a model trained by hrtem")
            meta = json.loads(z.read(MODEL_INFO_NAME))
    except zipfile.BadZipFile as err:
        raise HrtemError(f"{path} is not a .keras model file (not a zip archive)") from err
    if meta.get("format") != FORMAT:
        raise HrtemError(f"{path}: unknown model format {meta.get('format')!r}; expected {FORMAT}")
    return meta


def load_model(path: str | os.PathLike):
    """Load a model written by :func:`save_model`; return ``(model, info)``."""
    import keras

    from hrtem.learn.network import custom_objects

    info = read_model_info(path)
    model = keras.saving.load_model(path, custom_objects=custom_objects(), compile=False)
    return model, info


def predict(model, images: np.ndarray, batch: int = 8) -> np.ndarray:
    """Probability maps ``(n, nx, ny, K+1)`` for images ``(n, nx, ny, C)`` (sizes padded to the network's multiple).

    ``model`` may be a list or tuple of networks with the same outputs (an
    ensemble): their probability maps are averaged.
    """
    if isinstance(model, (list, tuple)):
        if not model:
            raise HrtemError("predict: an empty list of models")
        total = predict(model[0], images, batch)
        for member in model[1:]:
            total = total + predict(member, images, batch)
        return total / len(model)
    x = np.asarray(images, np.float32)
    if x.ndim == 3:
        x = x[..., None]
    n, nx, ny, _ = x.shape
    depth = sum(1 for layer in model.layers if layer.name.startswith("pool") and layer.name != "pool_global")
    m = 2**depth
    px, py = (-nx) % m, (-ny) % m
    if px or py:
        x = np.pad(x, ((0, 0), (0, px), (0, py), (0, 0)), mode="reflect")
    infer = getattr(model, "_hrtem_infer", None)
    if infer is None:
        import tensorflow as tf

        # one traced graph per input shape: far faster than eager layer calls
        infer = tf.function(lambda t: model(t, training=False), reduce_retracing=True)
        try:
            model._hrtem_infer = infer
        except AttributeError:  # pragma: no cover - models that refuse attributes
            pass
    out = [np.asarray(infer(x[i : i + batch])) for i in range(0, n, batch)]
    return np.concatenate(out, axis=0)[:, :nx, :ny]
