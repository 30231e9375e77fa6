"""Images for real convolutions: load a user image or the built-in photo as float H×W×C in [0, 1].

The built-in photo is ``grace_hopper.jpg`` from matplotlib's sample data (read through
``matplotlib.cbook.get_sample_data``, so it ships with every matplotlib install; 512×600 RGB).
It is the official 1984 portrait of Commodore Grace M. Hopper, USN, taken by a U.S. Navy
photographer as part of his official duties: a work of the United States federal government,
hence in the public domain in the United States (17 U.S.C. § 105).  Its JPEG comment names
its source, https://commons.wikimedia.org/wiki/File:Grace_Hopper.jpg , which lists it as
public domain; matplotlib adopted it as a public-domain replacement for the "Lena" test image
(matplotlib pull request #1599).

Decoding uses Pillow (a matplotlib dependency).  The pixel count is checked from the file
header *before* any pixel is decoded, so decompression bombs are refused cheaply
(``max_pixels``).  Resizing is exact area averaging (each output pixel is the mean of the input
area it covers, with fractional coverage at the edges).  No figure code lives here.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from rfdocs.compute.budget import DEFAULT_MAX_MEMORY, Budget, BudgetError, Cost, decode_cost

FloatArray = NDArray[np.float64]

DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels: any photo a camera takes, far below a bomb
BUILTIN_NAMES = ("photo", "builtin", "grace_hopper")
#: ITU-R BT.601 luma weights, the usual RGB -> grey conversion
LUMA = np.array([0.299, 0.587, 0.114])


class ImageError(ValueError):
    """An image that cannot be read or is not allowed (too large, wrong shape)."""


def builtin_photo_path() -> Path:
    """Path of the built-in photo (matplotlib's public-domain ``grace_hopper.jpg``)."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def read_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS,
               max_memory: int = DEFAULT_MAX_MEMORY) -> FloatArray:
    """The image file at ``path`` as float64 H×W×C (C = 1 or 3) in [0, 1].

    Alpha is composited over white; palette, 16-bit and CMYK images are converted; the EXIF
    orientation is applied.  Images of more than ``max_pixels`` pixels, or whose decoding would
    need more than ``max_memory`` bytes (``read_cost``), are refused before decoding."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    try:
        with warnings.catch_warnings():
            # our own limit below is the one that counts; Pillow's global one only warns
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                _check_pixels(width, height, max_pixels, str(path))
                _check_memory(_header_of(im), max_memory, str(path))
                im.seek(0)
                im.load()
                return _pil_to_array(ImageOps.exif_transpose(im))
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"image file {str(path)!r} does not exist") from None
    except Image.DecompressionBombError as exc:  # Pillow's own, larger, limit struck first
        raise ImageError(f"image {str(path)!r} has more than the {max_pixels:,} pixels allowed "
                         f"(a decompression bomb or an over-large image): {exc}") from None
    except UnidentifiedImageError as exc:
        raise ImageError(f"cannot read image {str(path)!r}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt data
        raise ImageError(f"cannot read image {str(path)!r}: {exc}") from None


def _header_of(im: object) -> tuple[int, int, int, int, bool]:
    """(height, width, bands, channels, alpha) of an opened Pillow image as ``read_image``
    returns it: EXIF-rotated size, bands decoded, channels and whether alpha is composited."""
    from PIL import Image

    assert isinstance(im, Image.Image)
    width, height = im.size
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # noqa: BLE001 - a broken EXIF block is read_image's to report
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    mode = im.mode
    bands = len(im.getbands())
    grey = mode in ("1", "L", "LA", "La", "I", "F") or mode.startswith("I;16")
    alpha = mode in ("LA", "RGBA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info)
    return height, width, bands, 1 if grey else 3, alpha


def image_header(path: str | Path) -> tuple[int, int, int, int, bool]:
    """(height, width, bands, channels, alpha) of the image file at ``path``, from its header
    only (nothing decoded): what ``read_image`` will return and what decoding it costs."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return _header_of(im)
    except FileNotFoundError:
        raise ImageError(f"image file {str(path)!r} does not exist") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"image {str(path)!r} is a decompression bomb or an over-large image: "
                         f"{exc}") from None
    except UnidentifiedImageError as exc:
        raise ImageError(f"cannot read image {str(path)!r}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"cannot read image {str(path)!r}: {exc}") from None


def read_cost(header: tuple[int, int, int, int, bool]) -> Cost:
    """What ``read_image`` of an image with this ``image_header`` costs (keeps its array)."""
    height, width, bands, channels, alpha = header
    return decode_cost(height, width, bands, channels, alpha)


def _check_memory(header: tuple[int, int, int, int, bool], max_memory: int, what: str) -> None:
    try:
        Budget(max_memory=max_memory, max_work=1 << 62).check(
            read_cost(header), f"decoding image {what!r} ({header[1]}×{header[0]})",
            ["its size (shrink it first)"])
    except BudgetError as err:
        raise ImageError(err.message) from None


def as_image_array(array: NDArray[np.generic], *, max_pixels: int = DEFAULT_MAX_PIXELS,
                   what: str = "image") -> FloatArray:
    """An in-memory image (H×W or H×W×C, C in 1, 3, 4; uint8, uint16, bool or float in [0, 1])
    as float64 H×W×C in [0, 1] (alpha composited over white)."""
    a = np.asarray(array)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] < 1 or a.shape[1] < 1:
        raise ImageError(f"{what} must be H×W or H×W×C with C = 1, 3 or 4; got shape {a.shape}")
    _check_pixels(a.shape[1], a.shape[0], max_pixels, what)
    if a.dtype == np.bool_:
        out = a.astype(np.float64)
    elif np.issubdtype(a.dtype, np.integer):
        top = 255.0 if a.dtype.itemsize == 1 else 65535.0
        if a.min() < 0 or a.max() > top:
            raise ImageError(f"{what} integer values must lie in 0..{int(top)}")
        out = a.astype(np.float64) / top
    elif np.issubdtype(a.dtype, np.floating):
        out = a.astype(np.float64)
        if not np.all(np.isfinite(out)) or out.min() < 0.0 or out.max() > 1.0:
            raise ImageError(f"{what} float values must be finite and lie in [0, 1]")
    else:
        raise ImageError(f"{what} has unsupported dtype {a.dtype}")
    if out.shape[2] == 4:
        alpha = out[:, :, 3:4]
        out = out[:, :, :3] * alpha + (1.0 - alpha)
    return np.ascontiguousarray(out)


def load_image(source: str | Path | NDArray[np.generic] | None = None, *,
               size: int | None = None, grey: bool = False,
               max_pixels: int = DEFAULT_MAX_PIXELS,
               max_memory: int = DEFAULT_MAX_MEMORY) -> FloatArray:
    """The image ``source`` (a path, an array, or None / 'photo' for the built-in photo) as
    float64 H×W×C in [0, 1], greyscale (C = 1) when ``grey``, its longer side resized to
    ``size`` by area averaging when given."""
    if is_builtin(source):
        image = read_image(builtin_photo_path(), max_pixels=max_pixels, max_memory=max_memory)
    elif isinstance(source, str | Path):
        image = read_image(source, max_pixels=max_pixels, max_memory=max_memory)
    elif source is not None:
        image = as_image_array(source, max_pixels=max_pixels)
    if grey:
        image = to_grey(image)
    if size is not None:
        image = resize_longer_side(image, size)
    return image


def to_grey(image: FloatArray) -> FloatArray:
    """H×W×3 -> H×W×1 luma (BT.601 weights); a one-channel image is returned unchanged."""
    if image.shape[2] == 1:
        return image
    return np.ascontiguousarray((image[:, :, :3] @ LUMA)[:, :, None])


def area_weights(n_in: int, n_out: int) -> FloatArray:
    """The (n_out, n_in) matrix of area averaging: row i holds the fraction of output pixel i
    covered by each input pixel (input pixel k spans [k, k+1), output pixel i spans
    [i·s, (i+1)·s) with s = n_in / n_out); rows sum to 1."""
    if n_in < 1 or n_out < 1:
        raise ValueError("sizes must be positive")
    scale = n_in / n_out
    lo = np.arange(n_out)[:, None] * scale
    hi = lo + scale
    k = np.arange(n_in)[None, :]
    overlap: FloatArray = np.clip(np.minimum(hi, k + 1) - np.maximum(lo, k), 0.0, None)
    return overlap / scale


def resize_area(image: FloatArray, height: int, width: int) -> FloatArray:
    """``image`` (H×W×C) resized to ``height``×``width`` by area averaging."""
    if image.shape[0] == height and image.shape[1] == width:
        return image
    rows = area_weights(image.shape[0], height)
    cols = area_weights(image.shape[1], width)
    out = np.einsum("ih,hwc,jw->ijc", rows, image, cols, optimize=True)
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0))


def resize_longer_side(image: FloatArray, size: int) -> FloatArray:
    """``image`` resized (area averaging, aspect ratio kept) so that its longer side is ``size``."""
    height, width = resized_size(image.shape[0], image.shape[1], size)
    return resize_area(image, height, width)


def resized_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(height, width) of an h × w image resized so that its longer side is ``size``."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if h >= w:
        return size, max(1, round(w * size / h))
    return max(1, round(h * size / w)), size


def _check_pixels(width: int, height: int, max_pixels: int, what: str) -> None:
    if width * height > max_pixels:
        raise ImageError(f"image {what!r} is {width}×{height} = {width * height:,} pixels, more "
                         f"than the {max_pixels:,} allowed (a decompression bomb or an over-large "
                         "image); shrink it first")


def _pil_to_array(im: object) -> FloatArray:
    from PIL import Image

    assert isinstance(im, Image.Image)
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N"):
        return np.asarray(im, dtype=np.float64)[:, :, None] / 65535.0
    if mode in ("I", "F"):
        data = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode == "I" and data.max(initial=0) > 255 else 255.0
        if mode == "F":
            top = max(1.0, float(data.max(initial=0)))
        return np.clip(data / top, 0.0, 1.0)[:, :, None]
    if mode == "1":
        im = im.convert("L")
        mode = "L"
    if mode == "L":
        return np.asarray(im, dtype=np.float64)[:, :, None] / 255.0
    has_alpha = mode in ("LA", "RGBA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in im.info)
    rgb = np.asarray(im.convert("RGBA" if has_alpha else "RGB"), dtype=np.float64) / 255.0
    if has_alpha:
        alpha = rgb[:, :, 3:4]
        rgb = rgb[:, :, :3] * alpha + (1.0 - alpha)
    if mode in ("LA", "La"):
        return np.ascontiguousarray(rgb[:, :, :1])
    return np.ascontiguousarray(rgb)


def is_builtin(source: object) -> bool:
    """Whether ``source`` names the built-in photo (None, '', 'photo', 'builtin', 'grace_hopper')."""
    return source is None or (isinstance(source, str) and source.strip().lower() in BUILTIN_NAMES + ("",))


__all__ = ["BUILTIN_NAMES", "DEFAULT_MAX_PIXELS", "ImageError", "area_weights", "as_image_array",
           "builtin_photo_path", "image_header", "is_builtin", "load_image", "read_cost",
           "read_image", "resize_area", "resize_longer_side", "resized_size", "to_grey"]
