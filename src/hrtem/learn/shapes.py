"""3D particle shapes from one HRTEM image (abstract 002, figure ``shape_confusion``).

Pipeline (config section ``shapes``)
------------------------------------
1. :func:`carbon_films`: one amorphous carbon film per ``carbon.thicknesses_a``
   (:func:`hrtem.structures.carbon.amorphous_carbon`; 0 Å = no film).
2. :func:`shape_structures`: for every shape s and j = 0 … ``per_shape − 1`` a
   particle (:func:`hrtem.structures.shapes.shape_particle`, random size and
   uniformly random 3D orientation, stream ``(seed, "shapes", "particle", s, j)``)
   on a random periodic shift of film ``j mod n_films`` (so every shape sits
   equally often on every thickness). The particles ``j ≥ per_shape −
   test_per_shape`` are held out. The label site is the particle's centre with
   the shape's class (1-based, the order of ``structures.shapes``).
3. :func:`build_shape_exit_waves`: exit waves once (``train.zarr``, ``test.zarr``)
   and ``test.csv`` (structure, shape, class, film thickness, diameter).
4. :class:`ShapeImages`: an image of a random training particle with a random
   microscope, dose, MTF and noise (:class:`hrtem.learn.data.TrainingImages`
   without translation, so the particle stays whole and centred) turned by a
   random multiple of 90° and mirrored; the target is the one-hot shape. The
   default 48 px × 0.8 Å = 38 Å field holds the whole 2–3 nm particle (≤ 30 Å
   across, centred within ``max_offset_a`` = 3 Å) with its outline; the pixel
   keeps the {111} and {200} fringes (2.35 and 2.04 Å > the 1.6 Å Nyquist
   period) that show the twin boundaries of icosahedra and decahedra.
5. :func:`train_classifier`: the package encoder with the classify head
   (:func:`hrtem.learn.network.build_network`, ``head="classify"``: global
   average pooling and a dense softmax), cross-entropy, Adam with a cosine
   decay of the learning rate. With ``train.bank_images`` > 0 the images are
   rendered once (:func:`render_bank`, about 7 ms CPU each; in the workflow by
   its own single-threaded step, :func:`write_bank`, beside the ceria
   trainings) and reused over the steps, each time in a random one of the square's eight symmetries
   (:func:`dihedral`, :func:`bank_batches`); the old streaming training
   rendered all 16,000 of its images and spent most of its time on that.
   Then the batch-norm statistics are recomputed over
   ``train.bn_batches`` training batches
   (:func:`hrtem.learn.network.recalibrate_batch_norm`: after 300 steps the
   moving averages gave 0.28 accuracy on the training particles where the
   batch statistics gave 0.62).
6. :func:`evaluate_shapes`: held-out particles at the figure dose (confusion
   matrix, accuracy, accuracy per film thickness), then at each dose (the
   figure dose's point reuses the confusion matrix's images) and at each
   defocus of the figure lists; with ``figure.average_symmetries`` the
   probabilities are averaged over the eight square symmetries of each image
   (:func:`predict_shapes`; on the default config's 320 held-out images at
   1000 e⁻/Å² this raised the accuracy from 0.878 to 0.897, same model).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ase
import numpy as np

from hrtem.errors import HrtemError
from hrtem.seeding import rng as make_rng
from hrtem.structures.carbon import amorphous_carbon, shifted_film
from hrtem.structures.shapes import particle_on_film, shape_particle

__all__ = [
    "ShapeImages",
    "bank_batches",
    "build_shape_exit_waves",
    "carbon_films",
    "classify_image",
    "evaluate_shapes",
    "dihedral",
    "learn_settings",
    "predict_shapes",
    "read_bank",
    "render_bank",
    "shape_structures",
    "train_classifier",
    "write_bank",
]


def _section(section: Mapping[str, Any] | None) -> dict[str, Any]:
    from hrtem.config import validate_config

    return validate_config({"shapes": dict(section or {})})["shapes"]


def carbon_films(section: Mapping[str, Any] | None, seed: int) -> list[ase.Atoms | None]:
    """One film per configured thickness (``None`` for 0 Å)."""
    c = _section(section)
    cb, s = c["carbon"], c["structures"]
    films: list[ase.Atoms | None] = []
    for t in cb["thicknesses_a"]:
        if t <= 0:
            films.append(None)
            continue
        films.append(
            amorphous_carbon(
                float(s["cell_a"]), float(t), make_rng(seed, "shapes", "carbon", f"{float(t):g}"),
                density=float(cb["density_g_cm3"]), min_distance_a=float(cb["min_distance_a"]),
                anneal_steps=int(cb["anneal_steps"]), anneal_k=float(cb["anneal_k"]),
            )
        )
    return films


def shape_structures(
    section: Mapping[str, Any] | None, seed: int, films: Sequence[ase.Atoms | None]
) -> tuple[list[ase.Atoms], list[ase.Atoms]]:
    """Training and held-out particles on their films (module docstring)."""
    c = _section(section)
    s = c["structures"]
    if s["test_per_shape"] >= s["per_shape"]:
        raise HrtemError(
            f"shapes.structures.test_per_shape ({s['test_per_shape']}) must be below per_shape ({s['per_shape']})"
        )
    thicknesses = [float(t) for t in c["carbon"]["thicknesses_a"]]
    if len(films) != len(thicknesses):
        raise HrtemError(f"{len(films)} carbon films given for {len(thicknesses)} shapes.carbon.thicknesses_a")
    train, test = [], []
    n_train = int(s["per_shape"]) - int(s["test_per_shape"])
    for j in range(int(s["per_shape"])):
        for si, shape in enumerate(s["shapes"]):
            g = make_rng(seed, "shapes", "particle", si, j)
            p = shape_particle(shape, g, *s["size_nm"], element=s["element"],
                               lattice_constant_a=float(s["lattice_constant_a"]))
            p.info["shape_class"] = si + 1  # order of the config's list
            film = films[j % len(films)]
            f = shifted_film(film, g) if film is not None else None
            atoms = particle_on_film(p, f, g, cell_a=float(s["cell_a"]), gap_a=float(s["gap_a"]),
                                     max_offset_a=float(s["max_offset_a"]))
            atoms.info["film_thickness_a"] = thicknesses[j % len(films)]
            metal = ~atoms.arrays["support"]
            atoms.info["label_xy"] = atoms.positions[metal, :2].mean(axis=0)[None, :]
            atoms.info["label_class"] = np.array([si + 1])
            atoms.info["label_height"] = np.array([float(metal.sum())])
            (train if j < n_train else test).append(atoms)
    return train, test


def learn_settings(section: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{"data": …, "microscope": …}`` for :class:`hrtem.learn.data.TrainingImages` from ``shapes``."""
    from hrtem.learn.data import study_settings

    return study_settings(_section(section), 1.0, scale_jitter=0.0)


def build_shape_exit_waves(
    section: Mapping[str, Any] | None,
    simulate: Mapping[str, Any] | None,
    out_dir: str | os.PathLike,
    seed: int,
) -> tuple[Path, Path]:
    """Films, particles and their exit waves: ``out_dir/{train,test}.zarr`` and ``out_dir/test.csv``."""
    from hrtem.learn.data import build_split_exit_waves

    c = _section(section)
    films = carbon_films(c, seed)
    train, test = shape_structures(c, seed, films)
    paths = build_split_exit_waves(
        {"train": train, "test": test}, c["exit_waves"], simulate, learn_settings(c), out_dir, seed, "shapes",
        len(c["structures"]["shapes"]),
    )
    out = Path(out_dir)
    with open(out / "test.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["structure", "shape", "class", "film_thickness_a", "diameter_nm", "atoms"])
        for i, a in enumerate(test):
            w.writerow([i, a.info["shape"], int(a.info["label_class"][0]), a.info["film_thickness_a"],
                        f"{a.info['diameter_nm']:.3f}", int(a.info["label_height"][0])])
    return paths["train"], paths["test"]


class ShapeImages:
    """Classifier images of one exit-wave store: ``sample(step) -> (image (n, n, 1), one-hot (K,))``.

    Parameters
    ----------
    exit_waves
        A store of :func:`build_shape_exit_waves` (or an ``ExitWaveSet``).
    settings
        :func:`learn_settings` output.
    seed, stream
        Image ``step`` uses the streams ``(seed, "learn", stream, step)`` (optics, noise)
        and ``(seed, "shapes", stream, "turn", step)`` (90° turn and mirror).
    augment
        Random 90° turns and mirrors (training); off for test images.
    """

    def __init__(self, exit_waves: Any, settings: Mapping[str, Any], seed: int, stream: str = "shapes_train",
                 augment: bool = True) -> None:
        from hrtem.learn.data import TrainingImages

        self.images = TrainingImages(exit_waves, settings, seed, stream=stream)
        self.seed, self.stream, self.augment = int(seed), str(stream), bool(augment)
        self.n_categories = int(self.images.n_classes)
        self.classes = np.array([int(self.images.waves.classes(i)[0]) for i in range(len(self.images.waves))])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.images.image_shape

    @property
    def label_shape(self) -> tuple[int]:
        return (self.n_categories,)

    def draw(self, step: int, overrides: Mapping[str, Any] | None = None, structure: int | None = None
             ) -> tuple[np.ndarray, int, dict[str, Any]]:
        """(image, class 1..K, drawn parameters) of image ``step``."""
        s = self.images.draw(step, overrides=overrides, augment=False, structure=structure)
        img = s.image
        if self.augment:
            g = make_rng(self.seed, "shapes", self.stream, "turn", int(step))
            img = np.rot90(img, int(g.integers(4)), axes=(0, 1))
            if g.integers(2):
                img = img[::-1]
        return np.ascontiguousarray(img, np.float32), int(self.classes[s.structure]), s.params

    def sample(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        img, cls, _ = self.draw(step)
        onehot = np.zeros(self.n_categories, np.float32)
        onehot[cls - 1] = 1.0
        return img, onehot


def render_bank(images: ShapeImages, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Images ``0 … n − 1`` of ``images`` and their classes: ``(n, px, px, C)`` float32, ``(n,)`` 0-based."""
    x = np.empty((int(n), *images.image_shape), np.float32)
    y = np.empty(int(n), np.int64)
    for i in range(int(n)):
        img, cls, _ = images.draw(i)
        x[i], y[i] = img, cls - 1
    return x, y


def write_bank(section: Mapping[str, Any] | None, train_store: str | os.PathLike, out: str | os.PathLike,
               seed: int) -> Path:
    """Render the ``train.bank_images`` training images once (:func:`render_bank`) into a Zarr store.

    Its own step (``hrtem shapes bank``), so that it runs single-threaded
    beside other jobs before the classifier's training needs both cores.
    ``image (n, px, px, C)`` float32 and ``shape_index (n,)`` (0-based class);
    attrs ``bank_images``, ``crop_px``, ``sampling_a``, ``seed`` (checked by
    :func:`read_bank`). With ``bank_images`` 0 the store is empty (n = 0) and the
    training renders fresh images per step.
    """
    import xarray as xr

    from hrtem.io import provenance, write_dataset

    c = _section(section)
    settings = learn_settings(c)
    n = int(c["train"]["bank_images"])
    images = ShapeImages(train_store, settings, seed)
    x, y = render_bank(images, n) if n > 0 else (np.zeros((0, *images.image_shape), np.float32), np.zeros(0, np.int64))
    ds = xr.Dataset({"image": (("sample", "x", "y", "channel"), x), "shape_index": (("sample",), y)})
    attrs = {**provenance(seed=int(seed)), "bank_images": n, "crop_px": int(settings["data"]["crop_px"]),
             "sampling_a": float(settings["data"]["sampling_a"]), "seed": int(seed), "train_store": str(train_store)}
    return write_dataset(ds, out, attrs=attrs)


def read_bank(path: str | os.PathLike, section: Mapping[str, Any] | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images and 0-based classes of a :func:`write_bank` store, checked against the config and seed."""
    from hrtem.io import read_dataset

    c = _section(section)
    ds = read_dataset(path)
    want = {"bank_images": int(c["train"]["bank_images"]), "crop_px": int(c["data"]["crop_px"]),
            "sampling_a": float(c["data"]["sampling_a"]), "seed": int(seed)}
    have = {k: ds.attrs.get(k) for k in want}
    if have != want:
        raise HrtemError(f"{path} was rendered for {have}, the config asks for {want}; delete it and rerun hrtem shapes bank")
    return np.asarray(ds["image"].values, np.float32), np.asarray(ds["shape_index"].values, np.int64)


def dihedral(x: np.ndarray, turns: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """Each image ``x[i]`` (``(b, n, n, C)``) turned by ``turns[i]`` × 90° then mirrored where ``mirror[i]``.

    The eight symmetries of the square keep a particle's outline and lattice
    (only the projection's orientation in the image changes), so they are
    free label-preserving augmentations for the shape classifier.
    """
    out = np.empty_like(x)
    for k in range(4):
        for f in (0, 1):
            sel = (turns % 4 == k) & (mirror.astype(bool) == bool(f))
            if not sel.any():
                continue
            y = np.rot90(x[sel], k, axes=(1, 2))
            out[sel] = y[:, ::-1] if f else y
    return out


def bank_batches(x: np.ndarray, y: np.ndarray, batch: int, steps: int, n_categories: int, seed: int):
    """``steps`` batches ``(images, one-hot)`` from a rendered bank: epochs of seeded permutations,
    each image in a random one of the eight square symmetries (:func:`dihedral`)."""
    n = len(x)
    if batch > n:
        raise HrtemError(f"shapes.train.batch ({batch}) exceeds shapes.train.bank_images ({n})")
    order = np.empty(0, np.int64)
    epoch = 0
    for step in range(int(steps)):
        if len(order) < batch:
            order = np.concatenate([order, make_rng(seed, "shapes", "bank", "epoch", epoch).permutation(n)])
            epoch += 1
        idx, order = order[:batch], order[batch:]
        g = make_rng(seed, "shapes", "bank", "step", step)
        xb = dihedral(x[idx], g.integers(0, 4, batch), g.integers(0, 2, batch))
        yield xb, np.eye(n_categories, dtype=np.float32)[y[idx]]


def train_classifier(
    section: Mapping[str, Any] | None, train_store: str | os.PathLike, out: str | os.PathLike, seed: int,
    progress: bool = False, bank_store: str | os.PathLike | None = None,
) -> Path:
    """Train the shape classifier on ``train_store``; save ``out`` (.keras) and a JSON sidecar.

    With ``train.bank_images`` > 0 the images are rendered once (random optics,
    dose and noise per image, :class:`ShapeImages`) and the ``train.steps``
    batches are drawn from that bank in epochs, each image in a random square
    symmetry; with 0 every step renders fresh images (the thesis scale, where a
    bank would not fit in memory). The learning rate decays from
    ``train.learning_rate`` to 0 on a cosine over the steps. ``bank_store``: the
    bank rendered beforehand by :func:`write_bank` (the same images; read
    instead of rendered here).
    """
    import time

    import keras

    from hrtem.learn.data import make_dataset
    from hrtem.learn.network import build_network, make_loss, recalibrate_batch_norm

    c = _section(section)
    t = c["train"]
    settings = learn_settings(c)
    if bank_store is not None and not Path(bank_store).exists():
        raise HrtemError(f"{bank_store} (the training image bank) is missing; make it with hrtem shapes bank")
    images = ShapeImages(train_store, settings, seed)
    k = images.n_categories
    steps, b, n_bank = int(t["steps"]), int(t["batch"]), int(t["bank_images"])
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    if bank_store is not None:
        bank = read_bank(bank_store, c, seed) if n_bank > 0 else None
    else:
        bank = render_bank(images, n_bank) if n_bank > 0 else None
    timing["render_s" if bank_store is None else "read_bank_s"] = time.perf_counter() - t0
    if progress and bank is not None and bank_store is None:
        print(f"rendered {n_bank} training images in {timing['render_s']:.1f} s", flush=True)
    keras.utils.set_random_seed(int(seed))
    model = build_network(2, 1, width=int(t["width"]), depth=int(t["depth"]), head="classify", n_categories=k,
                          residual_convs=int(t["residual_convs"]),
                          name="shape_classifier")
    lr = keras.optimizers.schedules.CosineDecay(float(t["learning_rate"]), steps)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=make_loss("cross_entropy"))
    t0 = time.perf_counter()
    if bank is not None:
        data = bank_batches(bank[0], bank[1], b, steps, k, seed)
    else:
        data = make_dataset(images, b, steps=steps)
    hist = model.fit(data, epochs=1, steps_per_epoch=steps, verbose=2 if progress else 0)
    timing["train_s"] = time.perf_counter() - t0
    n_bn = int(t["bn_batches"])
    if n_bn > 0:  # the stored batch-norm statistics lag the weights after a short training
        if bank is not None:
            n_bn = min(n_bn, n_bank // b)
            batches = (bank[0][j * b:(j + 1) * b] for j in range(n_bn))
        else:
            bn_images = ShapeImages(train_store, settings, seed, stream="shapes_bn")
            batches = (np.stack([bn_images.sample(j * b + i)[0] for i in range(b)]) for j in range(n_bn))
        recalibrate_batch_norm(model, batches)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    meta = {
        "hrtem_model": "shape_classifier",
        "shapes": list(c["structures"]["shapes"]),
        "sampling_a": float(settings["data"]["sampling_a"]),
        "crop_px": int(settings["data"]["crop_px"]),
        "lcn_sigma_a": float(settings["data"]["lcn_sigma_a"]),
        "final_loss": float(hist.history["loss"][-1]),
        "timing_s": timing,
        "seed": int(seed),
        "shapes_section": c,
    }
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    return out


def predict_shapes(model: Any, images: Sequence[np.ndarray], average_symmetries: bool = True) -> np.ndarray:
    """Shape probabilities ``(n, K)`` of images ``(nx, ny, C)``.

    ``average_symmetries``: the mean of the probabilities of the image in the
    eight symmetries of the square (four 90° turns, each also mirrored); a
    particle's shape does not change under them, and the mean is invariant
    to them (trained on the eight as augmentations, the network is only
    approximately so).
    """
    batch = np.stack(images).astype(np.float32)
    if not average_symmetries:
        return np.asarray(model.predict(batch, verbose=0, batch_size=256), float)
    n = len(batch)
    # the eight symmetries of every image in one prediction call (k = 0..3 turns, each plain then mirrored)
    x = np.concatenate([dihedral(batch, np.full(n, k), np.full(n, mirror)) for k in range(4) for mirror in (0, 1)])
    p = np.asarray(model.predict(x, verbose=0, batch_size=256), float)
    return p.reshape(8, n, -1).mean(axis=0)


def evaluate_shapes(
    section: Mapping[str, Any] | None, test_store: str | os.PathLike, model: Any, seed: int
) -> dict[str, Any]:
    """Confusion matrix and accuracies of ``model`` on the held-out particles (module docstring).

    Returns
    -------
    dict
        ``confusion (K, K)`` (rows true, columns predicted) at the figure dose,
        ``accuracy``, ``thickness`` rows (thickness, n, accuracy), ``dose`` rows
        (dose, n, accuracy), ``defocus`` rows (defocus, n, accuracy), ``shapes``.
    """
    c = _section(section)
    f = c["figure"]
    settings = learn_settings(c)
    imgs = ShapeImages(test_store, settings, seed, stream="shapes_test", augment=False)
    n_struct = len(imgs.images.waves)
    per = int(f["images_per_particle"])
    thick = np.asarray(_test_thicknesses(Path(test_store).with_name("test.csv"), n_struct), float)
    k = imgs.n_categories

    def run(overrides: Mapping[str, Any], offset: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        images, truth, which = [], [], []
        for i in range(n_struct):
            for r in range(per):
                img, cls, _ = imgs.draw(offset + i * per + r, overrides=overrides, structure=i)
                images.append(img)
                truth.append(cls)
                which.append(i)
        pred = 1 + np.argmax(predict_shapes(model, images, bool(f["average_symmetries"])), axis=1)
        return np.asarray(truth), pred, np.asarray(which)

    dose0 = float(f["dose_e_per_a2"])
    truth, pred, which = run({"dose_e_per_a2": dose0}, 0)
    conf = np.zeros((k, k), int)
    np.add.at(conf, (truth - 1, pred - 1), 1)
    out: dict[str, Any] = {
        "shapes": list(c["structures"]["shapes"]),
        "confusion": conf,
        "accuracy": float(np.mean(truth == pred)),
        "n": int(len(truth)),
        "dose_e_per_a2": dose0,
    }
    rows = []
    for t in sorted(set(thick.tolist())):
        sel = thick[which] == t
        rows.append((t, int(sel.sum()), float(np.mean(truth[sel] == pred[sel]))))
    out["thickness"] = rows
    rows = []
    for n, d in enumerate(f["doses_e_per_a2"]):
        if float(d) == dose0:  # the same condition as the confusion matrix: its images, not a second set
            tr, pr = truth, pred
        else:
            tr, pr, _ = run({"dose_e_per_a2": float(d)}, 10**6 * (n + 1))
        rows.append((float(d), len(tr), float(np.mean(tr == pr))))
    out["dose"] = rows
    rows = []
    for n, df in enumerate(f["defoci_a"]):
        tr, pr, _ = run({"dose_e_per_a2": dose0, "defocus_a": [float(df), float(df)]}, 10**8 + 10**6 * n)
        rows.append((float(df), len(tr), float(np.mean(tr == pr))))
    out["defocus"] = rows
    return out


def _test_thicknesses(path: Path, n: int) -> list[float]:
    if not path.is_file():
        raise HrtemError(f"{path} (film thickness per held-out particle) is missing; rebuild the shapes exit waves")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != n:
        raise HrtemError(f"{path} lists {len(rows)} particles but the test store has {n}; rebuild both")
    return [float(r["film_thickness_a"]) for r in rows]


def classify_image(model: Any, meta: Mapping[str, Any], image: np.ndarray, sampling_a: float,
                   average_symmetries: bool = True) -> np.ndarray:
    """Shape probabilities (K,) of one user image (2-D, pixel ``sampling_a`` Å).

    The image is resampled to the model's pixel, cut or padded (edge values) to
    its input size around the centre, and normalised as in training; the
    probabilities are averaged over the square's eight symmetries
    (:func:`predict_shapes`) unless ``average_symmetries`` is False.
    """
    from scipy import ndimage

    from hrtem.learn.data import local_contrast_normalise

    img = np.asarray(image, float)
    if img.ndim != 2 or min(img.shape) < 8:
        raise HrtemError(f"classify needs one 2-D image of at least 8x8 pixels, got shape {img.shape}")
    if not np.all(np.isfinite(img)):
        raise HrtemError("classify: the image contains NaN or infinite values")
    if not sampling_a > 0:
        raise HrtemError(f"classify: the pixel size must be positive, got {sampling_a} Å")
    s = float(meta["sampling_a"])
    n = int(meta["crop_px"])
    img = ndimage.zoom(img, sampling_a / s, order=1)
    out = np.empty((n, n))
    for axis in (0, 1):
        m = img.shape[axis]
        if m >= n:
            start = (m - n) // 2
            img = np.take(img, np.arange(start, start + n), axis=axis)
        else:
            before = (n - m) // 2
            pad = [(0, 0), (0, 0)]
            pad[axis] = (before, n - m - before)
            img = np.pad(img, pad, mode="edge")
    out[:] = img
    norm = local_contrast_normalise(out[..., None], float(meta["lcn_sigma_a"]) / s)
    return predict_shapes(model, [norm], average_symmetries)[0]
