"""A bank of noise-free focal series: the optics rendered once, crops and the detector drawn per image.

Training images made afresh (:meth:`hrtem.learn.data.TrainingImages.draw`)
spend most of their CPU on the optics: for every crop the whole cell's exit
wave is Fourier transformed through each channel's transfer function (about
50 ms for a three-image focal series of a 50 Å cell at 0.1 Å, against about
10 ms for the small counting network's step per crop; measured for issue 11).
:class:`FocalSeriesBank` renders ``entries`` noise-free camera images of the
whole (periodic) cell once, each a stored structure (round robin) seen
through its own random microscope and focal series, and then makes every
training image from one entry: a crop (90° turns and mirror, placed at whole
camera pixels, centred on a column with ``learn.data.centre_on_sites``), shot
noise at a random dose, the detector MTF, the intensity augmentation and the
normalisation, exactly the steps :meth:`~hrtem.learn.data.TrainingImages.draw`
applies after the optics (the same methods). A 96 px crop then took 15 ms
against 87 ms rendered afresh, and a counting training step (four crops and
the network) half the CPU (145 against 300 ms; measured for issue 11).

What the bank gives up: the optics (microscope, focal series jitter) repeat
across the images of one entry, and there is no scale jitter or sub-pixel
placement (the particles sit at random sub-pixel positions in their cells
already). The dose, MTF, crop, turn and intensity augmentation are drawn per
image. ``len(bank)`` entries × cell pixels × channels float32 are held in
memory (0.75 MB per entry for a 250 × 250 px, three-image series).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from hrtem.errors import HrtemError
from hrtem.learn.data import _MARGIN_PX, Sample, TrainingImages, _pair, image_params
from hrtem.seeding import rng as make_rng

__all__ = ["FocalSeriesBank"]


class FocalSeriesBank:
    """Noise-free camera images of whole cells, rendered once; training crops drawn from them.

    Parameters
    ----------
    images
        The generator whose settings (crop, channels, focal series, microscope
        ranges, dose range, augmentation, normalisation, label width) and seed
        the bank follows; its ``learn.data.sampling_a`` must divide the cell
        into whole pixels (the crops wrap around the periodic cell).
    entries
        Number of rendered (structure, microscope) pairs, ≥ 1; structure
        ``e mod len(waves)`` for entry e, so every structure appears equally.
    stream
        Random stream of the entries' optics: ``(seed, "learn", stream, e)``;
        the images use ``(seed, "learn", stream + "_images", step)``.
    progress
        Print one line when the bank is rendered (to stderr).
    workers
        Threads rendering the entries (FFTs and interpolation release the GIL); the
        bank does not depend on it.

    The bank has the interface :func:`hrtem.learn.data.make_dataset` needs:
    :attr:`image_shape`, :attr:`label_shape`, :meth:`sample`.
    """

    def __init__(self, images: TrainingImages, entries: int, stream: str = "bank", progress: bool = False,
                 workers: int = 1) -> None:
        entries = int(entries)
        if entries < 1:
            raise HrtemError(f"a focal-series bank needs at least 1 entry, got {entries}")
        self.images = images
        self.stream = str(stream)
        s = float(images.data["sampling_a"])
        cell = np.asarray(images.waves.cell_a, float)
        n = np.rint(cell / s).astype(int)
        if np.any(np.abs(n * s - cell) > 1e-6 * cell):
            raise HrtemError(
                f"the image bank wraps crops around the periodic cell, so the camera pixel ({s} Å) must divide "
                f"the cell ({cell.tolist()} Å) into whole pixels; change the pixel size or set the bank to 0 entries"
            )
        crop = images.crop_px + 2 * _MARGIN_PX
        if crop > n.min():
            raise HrtemError(f"training crops of {images.crop_px} px (+ {2 * _MARGIN_PX} px margin) exceed the "
                             f"{n.tolist()} px cell; use smaller crops")
        self.sampling_a = s
        self.shape = (int(n[0]), int(n[1]))
        self.structure = np.arange(entries) % len(images.waves)
        self.intensity = np.empty((entries, *self.shape, images.channels), np.float32)
        self.defoci_a = np.empty((entries, images.channels))
        ws = images.waves.sampling_a
        uu, vv = np.meshgrid(np.arange(n[0]) * s, np.arange(n[1]) * s, indexing="ij")
        coords = np.stack([uu / ws[0], vv / ws[1]])
        t0 = time.perf_counter()

        def render(e: int) -> None:
            g = make_rng(images.seed, "learn", self.stream, e)
            conf = int(g.integers(images.waves.configurations))
            mic, _, _ = images.draw_optics(g)
            spectrum = images._spectrum(int(self.structure[e]), conf)
            for ch, m in enumerate(images.channel_microscopes(mic, g)):
                self.intensity[e, ..., ch] = images.clean_camera(spectrum, m, coords)
                self.defoci_a[e, ch] = m.defocus_a

        if int(workers) > 1:  # every entry has its own stream: the same bank for any number of workers
            from concurrent.futures import ThreadPoolExecutor

            if images._spectra is not None:  # fill the spectrum cache before the threads share it
                for i in range(min(len(images.waves), entries)):
                    images._spectrum(i, 0)
            with ThreadPoolExecutor(int(workers)) as pool:
                list(pool.map(render, range(entries)))
        else:
            for e in range(entries):
                render(e)
        self.render_s = time.perf_counter() - t0
        if progress:
            print(f"[bank] {entries} noise-free focal series of {len(images.waves)} structures rendered in "
                  f"{self.render_s:.1f} s ({self.intensity.nbytes / 2**20:.0f} MiB)", file=sys.stderr, flush=True)

    def __len__(self) -> int:
        return len(self.structure)

    @property
    def n_classes(self) -> int:
        return self.images.n_classes

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.images.image_shape

    @property
    def label_shape(self) -> tuple[int, int, int]:
        return self.images.label_shape

    def draw(self, step: int) -> Sample:
        """Training image number ``step``: an entry, a crop, a dose and the detector, all from its own stream."""
        step = int(step)
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        im, d = self.images, self.images.data
        g = make_rng(im.seed, "learn", self.stream + "_images", step)
        e = int(g.integers(len(self)))
        i = int(self.structure[e])
        _, dose, mtf = im.draw_optics(g)
        origin = g.uniform(0.0, 1.0, 2) * im.waves.cell_a
        k90 = int(g.integers(4)) if d["rotate90"] else 0
        flip = bool(g.integers(2)) if d["mirror"] else False
        gamma = float(g.uniform(*_pair(d["gamma"], "learn.data.gamma")))
        contrast = float(g.uniform(*_pair(d["contrast"], "learn.data.contrast")))
        brightness = float(g.uniform(-1.0, 1.0)) * float(d["brightness"])
        a = im.crop_axes(k90, flip)
        s, n = self.sampling_a, im.crop_px
        centred = im.site_origin(g, i, a, s)
        origin = origin if centred is None else centred
        o = np.rint(origin / s).astype(int) % np.asarray(self.shape)
        # camera pixel (j, k) of the crop (margin included) is cell pixel o + A·(j, k), wrapped
        j = np.arange(-_MARGIN_PX, n + _MARGIN_PX)
        jj, kk = np.meshgrid(j, j, indexing="ij")
        ix = (o[0] + a[0, 0] * jj + a[0, 1] * kk) % self.shape[0]
        iy = (o[1] + a[1, 0] * jj + a[1, 1] * kk) % self.shape[1]
        dose_channel = im.channel_dose(dose)
        chans = [im.detect(self.intensity[e, ix, iy, ch].astype(np.float64), dose_channel, s, mtf, g, gamma,
                           contrast, brightness) for ch in range(im.channels)]
        image = im.normalise(np.stack(chans, axis=-1), s)
        pos, cls, hts, labels = im.crop_labels(i, o * s, a, s)
        params: dict[str, Any] = {
            "bank_entry": e,
            **image_params(self.defoci_a[e], dose, mtf, s, o * s, k90, flip, gamma, contrast, brightness),
        }
        return Sample(image.astype(np.float32), labels, pos, cls, hts, s, i, params)

    def sample(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(image (n, n, C), labels (n, n, K+1))`` float32 of training image ``step``."""
        out = self.draw(step)
        return out.image, out.labels
