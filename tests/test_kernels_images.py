"""Named kernels, the eval-free matrix parser, image loading, bomb refusal and area resizing."""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from rfdocs.compute.images import (
    ImageError,
    area_weights,
    as_image_array,
    builtin_photo_path,
    load_image,
    read_image,
    resize_area,
    resize_longer_side,
    to_grey,
)
from rfdocs.compute.kernels import (
    KERNEL_NAMES,
    gaussian_kernel,
    named_kernel,
    parse_kernel,
    parse_matrix,
    random_bank,
    split_specs,
)

# --- kernels ----------------------------------------------------------------------------------


def test_fixed_kernels_have_textbook_values() -> None:
    assert named_kernel("sobel-x").tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert named_kernel("Sobel-Y").tolist() == [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    assert named_kernel("laplacian").sum() == 0
    assert named_kernel("sharpen").sum() == 1
    assert named_kernel("identity").tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    assert named_kernel("identity", 1).tolist() == [[1.0]]
    np.testing.assert_allclose(named_kernel("box", 5), np.full((5, 5), 1 / 25))


def test_every_listed_name_parses() -> None:
    for name in KERNEL_NAMES:
        k = parse_kernel(name)
        assert k.weights.ndim == 2 and np.all(np.isfinite(k.weights))
        assert k.name == name


def test_gaussian_matches_formula() -> None:
    k = gaussian_kernel(5, 1.3)
    x = np.arange(5) - 2.0
    ref = np.array([[np.exp(-(a * a + b * b) / (2 * 1.3 ** 2)) for b in x] for a in x])
    np.testing.assert_allclose(k, ref / ref.sum())
    assert k.sum() == pytest.approx(1.0)
    assert int(np.argmax(k)) == 12  # the centre of 5×5
    g = parse_kernel("gaussian(7, 2)")
    assert g.shape == (7, 7) and g.name == "gaussian(7, 2)"


def test_random_kernels_are_seeded() -> None:
    a = parse_kernel("random(3, 7)").weights
    b = parse_kernel("random(3, 7)").weights
    c = parse_kernel("random(3, 8)").weights
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    bank = random_bank(100, 5, seed=1, depth=3)
    assert bank.shape == (5, 5, 3, 100)
    assert bank.std() == pytest.approx(np.sqrt(2 / 75), rel=0.05)
    np.testing.assert_array_equal(bank, random_bank(100, 5, seed=1, depth=3))


@pytest.mark.parametrize(("text", "expected"), [
    ("[[1,0,-1],[2,0,-2],[1,0,-1]]", [[1, 0, -1], [2, 0, -2], [1, 0, -1]]),
    (" [ [ 1 , 2 ] , [ 3 , 4 ] ] ", [[1, 2], [3, 4]]),
    ("[[0.5, -1e-1], [+2., .25]]", [[0.5, -0.1], [2.0, 0.25]]),
    ("[[1/4, 1/2], [-3/4, 1]]", [[0.25, 0.5], [-0.75, 1.0]]),
    ("[1, 2, 1]", [[1, 2, 1]]),
    ("[[7]]", [[7]]),
])
def test_parse_matrix_accepts(text: str, expected: list[list[float]]) -> None:
    np.testing.assert_allclose(parse_matrix(text), np.array(expected, dtype=float))
    np.testing.assert_allclose(parse_kernel(text).weights, np.array(expected, dtype=float))


@pytest.mark.parametrize(("text", "words"), [
    ("[[1,2],[3]]", "different lengths"),
    ("[[1,2],[3,4]", "expected ']'"),
    ("[[1,2]]]", "after the end"),
    ("[[1,,2]]", "expected a number"),
    ("[[]]", "expected a number"),
    ("[[1,2],[3,x]]", "only numbers"),
    ("__import__('os').system('true')", "cannot read kernel"),
    ("[[1e999]]", "not a finite number"),
    ("[[1/0]]", "not a number"),
    ("[[1;2]]", "';'"),
    ("[" + ",".join(["[" + ",".join(["1"] * 32) + "]"] * 32) + "]", "at most 31"),
])
def test_parse_matrix_rejects_clearly(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_kernel(text)
    assert words in str(info.value)


@pytest.mark.parametrize(("text", "words"), [
    ("sobel", "unknown kernel 'sobel'; allowed: identity, box, sobel-x"),
    ("sobel-x(5)", "takes no arguments"),
    ("gaussian(5, 0)", "sigma must be a positive"),
    ("gaussian(5, 1, 2)", "at most 2 arguments"),
    ("box(2.5)", "whole number"),
    ("box(0)", "kernel size must be 1 to 31"),
    ("identity(4)", "must be odd"),
    ("random(3, -1)", "seed must be 0 or more"),
    ("box(x)", "argument of box 'x' is not a number"),
    ("", "empty kernel spec"),
])
def test_named_kernel_errors(text: str, words: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_kernel(text)
    assert words in str(info.value)


def test_split_specs_respects_brackets() -> None:
    assert split_specs("sobel-x, gaussian(5, 1.5) [[1,0],[0,-1]]  box (3)") == [
        "sobel-x", "gaussian(5, 1.5)", "[[1,0],[0,-1]]", "box(3)"]
    with pytest.raises(ValueError, match="unclosed"):
        split_specs("sobel-x, [[1,2]")
    with pytest.raises(ValueError, match="unbalanced"):
        split_specs("sobel-x)")


# --- images -----------------------------------------------------------------------------------


def test_builtin_photo_loads() -> None:
    path = builtin_photo_path()
    assert path.name == "grace_hopper.jpg" and path.exists()
    image = load_image()
    assert image.shape == (600, 512, 3) and image.dtype == np.float64
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.1
    grey = load_image("photo", grey=True, size=128)
    assert grey.shape == (128, 109, 1)
    np.testing.assert_allclose(grey[:, :, 0],
                               resize_longer_side(to_grey(image), 128)[:, :, 0], atol=1e-12)


def _block_mean_reference(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Exact area averaging by brute force: replicate every pixel by the output size (so both
    grids align on whole sub-pixels), then take plain block means."""
    h, w = image.shape[:2]
    fine = np.repeat(np.repeat(image, height, axis=0), width, axis=1)  # (h*height, w*width)
    out = np.zeros((height, width, image.shape[2]))
    for i in range(height):
        for j in range(width):
            out[i, j] = fine[i * h:(i + 1) * h, j * w:(j + 1) * w].mean(axis=(0, 1))
    return out


@pytest.mark.parametrize(("shape", "target"), [((4, 6), (2, 3)), ((7, 5), (3, 2)),
                                               ((5, 5), (5, 5)), ((3, 4), (6, 7)), ((9, 1), (4, 1))])
def test_resize_area_is_exact_area_average(shape: tuple[int, int], target: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    image = rng.random((*shape, 2))
    got = resize_area(image, *target)
    np.testing.assert_allclose(got, _block_mean_reference(image, *target), atol=1e-12)


def test_area_weights_rows_sum_to_one() -> None:
    for n_in, n_out in ((600, 128), (5, 3), (3, 5), (1, 1)):
        np.testing.assert_allclose(area_weights(n_in, n_out).sum(axis=1), 1.0)


def test_resize_longer_side_keeps_aspect() -> None:
    image = np.zeros((300, 200, 1))
    assert resize_longer_side(image, 60).shape == (60, 40, 1)
    assert resize_longer_side(np.zeros((200, 300, 3)), 60).shape == (40, 60, 3)
    assert resize_longer_side(np.zeros((1, 300, 1)), 30).shape == (1, 30, 1)


def test_image_files_of_every_mode(tmp_path: Path) -> None:
    from PIL import Image

    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[..., 3] = 0  # fully transparent red -> white
    rgba[0, 0, 3] = 255  # one opaque red pixel
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    a = read_image(tmp_path / "a.png")
    assert a.shape == (4, 5, 3)
    np.testing.assert_allclose(a[0, 0], [1, 0, 0])
    np.testing.assert_allclose(a[1, 1], [1, 1, 1])

    grey16 = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    Image.fromarray(grey16).save(tmp_path / "g16.png")
    g = read_image(tmp_path / "g16.png")
    assert g.shape == (3, 4, 1)
    np.testing.assert_allclose(g[:, :, 0], grey16 / 65535.0)

    Image.fromarray(np.full((2, 3), 128, np.uint8), "L").convert("P").save(tmp_path / "p.gif")
    assert read_image(tmp_path / "p.gif").shape == (2, 3, 3)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height but whose data is a few bytes: decoding it would
    try to allocate the whole image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header_only(10_000, 10_000))
    with pytest.raises(ImageError, match=r"10000×10000 = 100,000,000 pixels, more than the "
                                         r"40,000,000 allowed \(a decompression bomb"):
        read_image(bomb)
    bomb.write_bytes(_png_header_only(100_000, 100_000))  # past Pillow's own limit too
    with pytest.raises(ImageError, match=r"more than the 40,000,000 pixels allowed \(a decompression"):
        read_image(bomb)
    small = tmp_path / "small.png"
    from PIL import Image

    Image.fromarray(np.zeros((20, 30), np.uint8)).save(small)
    with pytest.raises(ImageError, match="more than the 100 allowed"):
        load_image(small, max_pixels=100)
    assert load_image(small, max_pixels=600).shape == (20, 30, 1)
    with pytest.raises(ImageError, match="more than the 10 allowed"):
        as_image_array(np.zeros((4, 4)), max_pixels=10)


def test_bad_image_files(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="does not exist"):
        read_image(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    with pytest.raises(ImageError, match="cannot read image"):
        read_image(junk)
    truncated = tmp_path / "cut.jpg"
    truncated.write_bytes(builtin_photo_path().read_bytes()[:2000])
    with pytest.raises(ImageError, match="cannot read image"):
        read_image(truncated)


def test_in_memory_arrays() -> None:
    np.testing.assert_allclose(as_image_array(np.array([[0, 255]], np.uint8)), [[[0.0], [1.0]]])
    assert as_image_array(np.ones((3, 4, 4))).shape == (3, 4, 3)
    for bad, words in ((np.zeros((2, 2, 2)), "C = 1, 3 or 4"), (np.full((2, 2), 1.5), "[0, 1]"),
                       (np.full((2, 2), np.nan), "finite"), (np.zeros(5), "H×W"),
                       (np.array([[-1]]), "0..65535")):
        with pytest.raises(ImageError, match=words.replace("[", r"\[").replace("]", r"\]")):
            as_image_array(bad)


# --- hostile numbers in kernels ---------------------------------------------------------------


@pytest.mark.parametrize(("size", "sigma"), [(5, 1e308), (4, 1e308), (5, 1e-300), (4, 1e-300),
                                             (31, 1e-160), (3, 5e-324)])
def test_gaussian_at_extreme_sigmas_is_finite_and_silent(size: int, sigma: float) -> None:
    """``gaussian(5, 1e308)`` raised OverflowError (σ² in Python floats); ``gaussian(4, 1e-300)``
    gave 0/0 = NaN with numpy RuntimeWarnings on stderr. The limits are a box (huge σ) and the
    centre sample(s) alone (tiny σ)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k = parse_kernel(f"gaussian({size}, {sigma!r})").weights
    assert np.all(np.isfinite(k)) and k.sum() == pytest.approx(1.0)
    if sigma > 1:
        assert np.allclose(k, 1 / size**2)
    else:
        centre = np.zeros((size, size))
        mid = slice((size - 1) // 2, size // 2 + 1)
        centre[mid, mid] = 1.0
        assert np.allclose(k, centre / centre.sum())


@pytest.mark.parametrize("text", ["[[1e7]]", "[[1, -2e6]]", "[[1e308, 1e308], [1e308, 1e308]]"])
def test_matrix_entries_are_bounded(text: str) -> None:
    """Entries up to 1e308 overflowed in the convolutions of figures (RuntimeWarning, inf, NaN)."""
    with pytest.raises(ValueError, match="too large"):
        parse_matrix(text)
    assert parse_matrix("[[1e6, -1e6]]").tolist() == [[1e6, -1e6]]


@pytest.mark.parametrize("text", ["gaussian(\u0663)", "box(\u00b3)", "gaussian(5, 1_0)",
                                  "[[\u0661, 0]]", "random(3, infinity)", "box(1e300)",
                                  "random(3, 1e300)", "random(3, 2147483648)"])
def test_kernel_numbers_are_ascii_and_finite(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_kernel(text)
    assert len(str(info.value)) < 300


def test_kernel_messages_quote_long_text_shortened() -> None:
    with pytest.raises(ValueError) as info:
        parse_kernel("frob" + "x" * 3990)
    assert len(str(info.value)) < 400
