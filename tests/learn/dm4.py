"""A minimal Gatan DM4 writer for the tests (rosettasciio reads DM files but cannot write them).

Layout (big-endian headers, little-endian data): version 4, file size, byte-order
flag; the root tag group; tags are groups (id 20: sorted, open, size, count) or
data (id 21: size, "%%%%", info array, data). Only what an image needs is
written: ImageList/TagGroup0/{ImageData/{Calibrations, Data, DataType,
Dimensions}, ImageTags, Name}.
"""

from __future__ import annotations

import struct

import numpy as np


def _q(n: int) -> bytes:
    return struct.pack(">q", n)


def _name(tag_id: int, name: str) -> bytes:
    raw = name.encode("latin-1")
    return struct.pack(">bh", tag_id, len(raw)) + raw


def _data(name: str, info: list[int], payload: bytes) -> bytes:
    body = b"%%%%" + _q(len(info)) + b"".join(_q(i) for i in info) + payload
    return _name(21, name) + _q(len(body)) + body


def _group(name: str, tags: list[bytes]) -> bytes:
    body = b"".join(tags)
    return _name(20, name) + b"\x00\x01" + _q(len(body)) + _q(len(tags)) + body


def _float(name: str, v: float) -> bytes:
    return _data(name, [6], struct.pack("<f", v))


def _long(name: str, v: int) -> bytes:
    return _data(name, [3], struct.pack("<i", v))


def _string(name: str, s: str) -> bytes:
    return _data(name, [20, 4, len(s)], np.array([ord(c) for c in s], "<u2").tobytes())


def write_dm4(path, image: np.ndarray, pixel: float, units: str = "nm") -> None:
    """Write a float32 image (rows = y, columns = x) with a square pixel of ``pixel`` ``units``."""
    image = np.ascontiguousarray(image, dtype="<f4")
    rows, cols = image.shape
    dims = [_group("", [_float("Origin", 0.0), _float("Scale", pixel), _string("Units", units)]) for _ in range(2)]
    calib = _group("Calibrations", [
        _group("Brightness", [_float("Origin", 0.0), _float("Scale", 1.0), _string("Units", "")]),
        _group("Dimension", dims),
    ])
    data = _data("Data", [20, 6, image.size], image.tobytes())
    image_data = _group("ImageData", [calib, data, _long("DataType", 2), _group("Dimensions", [_long("", cols), _long("", rows)])])
    entry = _group("", [image_data, _group("ImageTags", []), _string("Name", "hrtem test")])
    root_tags = [_group("ImageList", [entry])]
    root = b"\x00\x01" + _q(len(root_tags)) + b"".join(root_tags)
    body = struct.pack(">i", 1) + root + b"\x00" * 8
    with open(path, "wb") as fh:
        fh.write(struct.pack(">i", 4) + _q(len(body)) + body)
