"""The one image reader: bit depth from the file, every colour mode, EXIF orientation, one extension list."""

import struct
import zlib

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from conftest import photo_crops
from srlab.data.images import IMAGE_EXTENSIONS, decode_image, image_size, list_images, read_image
from srlab.inference import read_image as read_for_upscaling

RNG = np.random.default_rng(0)


def png_bytes(levels: np.ndarray, colour_type: int, exif: bytes | None = None) -> bytes:
    """A PNG of (H, W, C) uint8 or uint16 `levels`, by hand: neither Pillow nor OpenCV writes 16-bit grey+alpha."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    h, w = levels.shape[:2]
    rows = levels.astype(levels.dtype.newbyteorder(">")).reshape(h, -1)
    raw = b"".join(b"\0" + row.tobytes() for row in rows)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", w, h, 8 * levels.dtype.itemsize, colour_type, 0, 0, 0)
    exif_chunk = chunk(b"eXIf", exif) if exif else b""
    body = chunk(b"IHDR", header) + exif_chunk + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def exif_orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif


def levels16(*shape: int, top: int = 65536) -> np.ndarray:
    return RNG.integers(0, top, shape).astype(np.uint16)


def test_a_dark_16_bit_grey_file_stays_16_bit(tmp_path):
    dark = levels16(9, 11, top=256)  # every value <= 255: the old reader took it for 8 bits
    Image.fromarray(dark).save(tmp_path / "dark.png")
    decoded = decode_image(tmp_path / "dark.png")
    assert decoded.bits == 16 and decoded.grey and np.array_equal(decoded.colour[..., 0], dark)
    img, grey = read_image(tmp_path / "dark.png")
    assert grey and img.dtype == np.uint8 and np.array_equal(img[..., 1], np.round(dark / 257).astype(np.uint8))
    assert img.max() <= 1
    upscaling = read_for_upscaling(tmp_path / "dark.png")
    assert upscaling.bits == 16 and upscaling.grey
    torch.testing.assert_close(upscaling.rgb[0, 2], torch.from_numpy(dark / 65535).float())


@pytest.mark.parametrize("name", ["deep.png", "deep.tif", "deep.ppm"])
def test_16_bit_colour_keeps_its_16_bits(tmp_path, name):
    rgb = levels16(7, 10, 3)
    rgb[0, :4] = [[0, 0, 0], [128, 128, 128], [129, 129, 129], [65535, 385, 386]]  # round(v / 257) edges
    assert cv2.imwrite(str(tmp_path / name), rgb[..., ::-1])
    decoded = decode_image(tmp_path / name)
    assert decoded.bits == 16 and not decoded.grey and decoded.alpha is None
    assert np.array_equal(decoded.colour, rgb)
    img, grey = read_image(tmp_path / name)
    # Pillow alone would keep the high byte (v >> 8): 0, 0, 0, 255/1/1 on the first row.
    assert not grey and np.array_equal(img, np.round(rgb / 257).astype(np.uint8))
    assert img[0, :4].tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 1], [255, 1, 2]]


def test_16_bit_alpha_and_grey_alpha(tmp_path):
    rgba, grey_alpha = levels16(6, 8, 4), levels16(6, 8, 2)
    assert cv2.imwrite(str(tmp_path / "rgba.png"), rgba[..., [2, 1, 0, 3]])
    (tmp_path / "la.png").write_bytes(png_bytes(grey_alpha, colour_type=4))
    decoded = decode_image(tmp_path / "rgba.png")
    assert decoded.bits == 16 and np.array_equal(decoded.colour, rgba[..., :3])
    assert np.array_equal(decoded.alpha, rgba[..., 3])
    decoded = decode_image(tmp_path / "la.png")
    assert decoded.bits == 16 and decoded.grey
    assert np.array_equal(decoded.colour[..., 0], grey_alpha[..., 0])
    assert np.array_equal(decoded.alpha, grey_alpha[..., 1])
    upscaling = read_for_upscaling(tmp_path / "la.png")
    # OpenCV writes no grey+alpha: the upscaler writes it back as RGBA, its three channels equal.
    assert not upscaling.grey and upscaling.bits == 16 and upscaling.alpha.shape == (1, 1, 6, 8)
    assert torch.equal(upscaling.rgb[:, 0], upscaling.rgb[:, 2])


def test_8_bit_modes(tmp_path):
    rgb = photo_crops([(24, 30)])[0]
    photo = Image.fromarray(rgb)
    photo.convert("P").save(tmp_path / "palette.png")
    transparent = photo.convert("P")
    transparent.info["transparency"] = 0
    transparent.save(tmp_path / "palette_alpha.png", transparency=0)
    photo.convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    photo.convert("CMYK").save(tmp_path / "cmyk.tif")
    photo.convert("1").save(tmp_path / "bilevel.png")
    photo.convert("LA").save(tmp_path / "grey_alpha.png")
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 9, np.uint8)])).save(tmp_path / "rgba.webp", lossless=True)

    palette = decode_image(tmp_path / "palette.png")
    assert np.array_equal(palette.colour, np.asarray(photo.convert("P").convert("RGB"))) and palette.alpha is None
    with_alpha = decode_image(tmp_path / "palette_alpha.png")
    index = np.asarray(Image.open(tmp_path / "palette_alpha.png"))
    assert np.array_equal(with_alpha.alpha == 0, index == 0) and (index == 0).any()
    for name in ("cmyk.jpg", "cmyk.tif"):  # converted to RGB, not taken for RGBA
        cmyk = decode_image(tmp_path / name)
        assert cmyk.colour.shape == (24, 30, 3) and cmyk.alpha is None, name
        assert np.abs(cmyk.colour.astype(int) - rgb).mean() < 2, name
    bilevel = decode_image(tmp_path / "bilevel.png")
    assert bilevel.grey and set(np.unique(bilevel.colour)) <= {0, 255}
    grey_alpha = decode_image(tmp_path / "grey_alpha.png")
    assert grey_alpha.grey and grey_alpha.bits == 8 and np.all(grey_alpha.alpha == 255)
    img, grey = read_image(tmp_path / "rgba.webp")
    assert not grey and np.array_equal(img, rgb)  # alpha dropped for training and evaluation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    rgb = photo_crops([(10, 16)])[0]  # not square: a turned image changes shape
    Image.fromarray(rgb).save(tmp_path / "photo.png", exif=exif_orientation(orientation))
    Image.fromarray(rgb).save(tmp_path / "photo.jpg", exif=exif_orientation(orientation), quality=95)
    for name in ("photo.png", "photo.jpg"):
        with Image.open(tmp_path / name) as img:
            upright = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
        assert np.array_equal(decode_image(tmp_path / name).colour, upright), name
        assert image_size(tmp_path / name) == upright.shape[:2], name
    if orientation == 6:  # the camera turned a quarter clockwise
        assert np.array_equal(read_image(tmp_path / "photo.png")[0], np.rot90(rgb, -1))
        rgb_for_upscaling = read_for_upscaling(tmp_path / "photo.png").rgb
        assert rgb_for_upscaling.shape == (1, 3, 16, 10)


def test_exif_orientation_of_16_bit_colour(tmp_path):
    rgb = levels16(5, 9, 3)
    exif = exif_orientation(8).tobytes()[len(b"Exif\0\0") :]  # a PNG's eXIf chunk holds the TIFF part only
    (tmp_path / "turned.png").write_bytes(png_bytes(rgb, colour_type=2, exif=exif))
    decoded = decode_image(tmp_path / "turned.png")
    assert decoded.bits == 16 and np.array_equal(decoded.colour, np.rot90(rgb, 1))
    assert image_size(tmp_path / "turned.png") == (9, 5)


def test_grey_is_one_channel_seen_three_times(tmp_path):
    grey = photo_crops([(12, 14)])[0][..., 0]
    Image.fromarray(grey).save(tmp_path / "grey.png")
    np.save(tmp_path / "grey.npy", grey[..., None])
    for name in ("grey.png", "grey.npy"):
        img, is_grey = read_image(tmp_path / name)
        assert is_grey and img.shape == (12, 14, 3) and img.strides[2] == 0, name
        assert np.array_equal(img[..., 2], grey), name


def test_one_extension_list(tmp_path):
    assert {".png", ".jpg", ".tif", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".npy"} <= set(IMAGE_EXTENSIONS)
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name, kind in (("b.PNG", "PNG"), ("a.pgm", "PPM"), ("c.webp", "WEBP")):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / name, format=kind)
    (folder / "notes.txt").write_text("not an image")
    (folder / "album.png").mkdir()  # a folder named like an image
    assert [p.name for p in list_images(folder)] == ["a.pgm", "b.PNG", "c.webp"]
    assert list_images([folder / "a.pgm", folder]) == [folder / "a.pgm", *list_images(folder)]
    with pytest.raises(ValueError, match="notes.txt has no image extension"):
        list_images([folder / "notes.txt"])


def test_content_decides_the_format(tmp_path):
    rgb = photo_crops([(8, 9)])[0]
    Image.fromarray(rgb).save(tmp_path / "really_a_png.jpg", format="PNG")
    assert np.array_equal(read_image(tmp_path / "really_a_png.jpg")[0], rgb)  # lossless: it was read as PNG
