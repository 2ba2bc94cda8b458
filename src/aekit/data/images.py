"""Reading and writing images: a folder of PNG/JPEG files (with Pillow) and NPY/NPZ
image arrays. Images come back as float32 in [0, 1], grey as (n, H, W) and colour
channel-first as (n, 3, H, W), the layout aekit's image models take."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")
MODES = ("auto", "L", "RGB")


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "reading PNG/JPEG images needs Pillow: pip install 'aekit[images]' "
            "(or pip install pillow), or pass the images as a .npy file"
        ) from None
    return Image


def read_images(
    path: str | os.PathLike, *, size: Sequence[int] | None = None, mode: str = "auto"
) -> np.ndarray:
    """Images from a folder of PNG/JPEG files, one image file, or a NPY/NPZ array.

    See `read_image_folder` and `read_image_array`; ``size`` and ``mode`` apply to
    image files only.

    Examples
    --------
    >>> import numpy as np, tempfile, aekit.data
    >>> path = tempfile.mkdtemp() + "/digits.npy"
    >>> np.save(path, np.zeros((5, 8, 8), dtype=np.uint8))
    >>> aekit.data.read_images(path).shape
    (5, 8, 8)
    """
    path = Path(path)
    if path.is_dir():
        return read_image_folder(path, size=size, mode=mode)[0]
    if not path.is_file():
        raise FileNotFoundError(f"image file or folder not found: {path}")
    if path.suffix.lower() in ARRAY_SUFFIXES:
        return read_image_array(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _stack([_open(path, size, mode)], [path.name])
    allowed = ", ".join(IMAGE_SUFFIXES + ARRAY_SUFFIXES)
    raise ValueError(f"unsupported image file {path.name!r}: use a folder or {allowed}")


def read_image_folder(
    folder: str | os.PathLike, *, size: Sequence[int] | None = None, mode: str = "auto"
) -> tuple[np.ndarray, list[str]]:
    """Every PNG/JPEG file in ``folder`` (sorted by name) and their file names.

    ``size=(height, width)`` resizes every image (bilinear); without it all images
    must have the same size. ``mode``: "L" grey, "RGB" colour, "auto" grey when
    every image is grey, else colour.
    """
    folder = Path(folder)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} images")
    if mode == "auto":
        grey = all(_open(p, None, "auto").ndim == 2 for p in files)
        mode = "L" if grey else "RGB"
    images = [_open(p, size, mode) for p in files]
    return _stack(images, [p.name for p in files]), [p.name for p in files]


def _open(path: Path, size: Sequence[int] | None, mode: str) -> np.ndarray:
    """One image as float32 in [0, 1]: (H, W) grey or (3, H, W) colour."""
    Image = _pillow()
    try:
        with Image.open(path) as img:
            img.load()
            if mode == "auto":
                grey = img.mode in ("1", "L", "I", "I;16", "F")
                img = img.convert("L" if grey else "RGB")
            else:
                img = img.convert(mode)
            if size is not None:
                height, width = (int(s) for s in size)
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(img, dtype=np.float32) / 255.0
    except (OSError, ValueError, SyntaxError) as exc:
        raise ValueError(f"could not read image {path}: {exc}") from None
    return pixels if pixels.ndim == 2 else pixels.transpose(2, 0, 1)


def _stack(images: list[np.ndarray], names: list[str]) -> np.ndarray:
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        first = images[0].shape
        other = next(i for i, im in enumerate(images) if im.shape != first)
        raise ValueError(
            f"images have different sizes: {names[0]} is {first[-2:]} (height, "
            f"width) but {names[other]} is {images[other].shape[-2:]}; pass "
            "size=(height, width) (--size HxW on the command line) to resize them"
        )
    return np.stack(images)


def read_image_array(path: str | os.PathLike) -> np.ndarray:
    """Images stored as a NumPy array: (n, H, W), (n, C, H, W), (n, H, W, C) (moved
    to channel-first) or flat (n, d). NPZ files use the array named "X" or
    "images", or their only array. uint8 pixels are divided by 255."""
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"could not read {path} as NumPy data: {exc}") from None
    if not isinstance(loaded, np.ndarray):
        with loaded:
            names = list(loaded.files)
            key = next((k for k in ("X", "images") if k in names), None)
            if key is None and len(names) != 1:
                raise ValueError(
                    f"{path} holds arrays {names}: name the images 'X' or 'images'"
                )
            loaded = loaded[key or names[0]]
    return _as_images(loaded, path)


def _as_images(array: np.ndarray, source: Path) -> np.ndarray:
    if array.dtype.kind not in "biuf" or array.ndim not in (2, 3, 4) or not len(array):
        raise ValueError(
            f"{source} holds a {array.dtype} array of shape {array.shape}; images "
            "need a non-empty numeric array of 2 to 4 dimensions"
        )
    if array.ndim == 4 and array.shape[-1] in (1, 3, 4) and array.shape[1] > 4:
        array = array.transpose(0, 3, 1, 2)  # channel-last -> channel-first
    scale = 255.0 if array.dtype == np.uint8 else 1.0
    images = array.astype(np.float32) / scale
    if not np.isfinite(images).all():
        raise ValueError(f"{source} has NaN or infinite pixel values")
    return images


def write_images(
    images: np.ndarray, folder: str | os.PathLike, names: Sequence[str]
) -> None:
    """Write images (grey (n, H, W) or channel-first colour (n, C, H, W), values in
    [0, 1], clipped) as PNG files ``folder/names[i]`` (suffix set to .png)."""
    Image = _pillow()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for image, name in zip(images, names, strict=True):
        pixels = np.clip(np.asarray(image, dtype=np.float64), 0.0, 1.0)
        if pixels.ndim == 3:
            pixels = pixels[0] if pixels.shape[0] == 1 else pixels.transpose(1, 2, 0)
        data = np.round(pixels * 255).astype(np.uint8)
        Image.fromarray(data).save(folder / Path(name).with_suffix(".png").name)
