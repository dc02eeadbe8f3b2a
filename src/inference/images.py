"""What a user hands src.predict, as the network's input: image files of any size, each made
a digit in MNIST's form (src/inference/mnist_form.py), and .npy arrays, used as they are. A 28x28
image is taken to be in MNIST's form already, as an array is: only its polarity is decided. Every
error and warning about a file names it."""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path

import numpy as np

from src.errors import UsageError
from src.inference.mnist_form import SIDE, centre_digit, ink_is_dark, noise_level, remove_background
from src.inference.mnist_form import border as border  # re-exported: its home before mnist_form

WORK_SIDE = 1024  # photos are analysed at most this large: the digit ends up 20 pixels tall
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
INVERT_CHOICES = ("auto", "always", "never")
INVERT_ALIASES = {"yes": "always", "no": "never"}  # the names before `always`/`never`


def invert_mode(invert: str) -> str:
    """`auto`, `always` or `never`; `yes` and `no` are the older names of the last two."""
    mode = INVERT_ALIASES.get(invert, invert)
    if mode not in INVERT_CHOICES:
        raise UsageError(f"--invert {invert}: expected one of {', '.join(INVERT_CHOICES)}")
    return mode


def open_image(path: Path) -> np.ndarray:
    """The image as float32 grayscale 0-255, shrunk to at most WORK_SIDE on its longer side.
    Whatever Pillow refuses or warns about is said with the file's name."""
    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings(record=True) as caught, Image.open(path) as image:
            image.draft("RGB", (WORK_SIDE, WORK_SIDE))  # JPEG: decode at a reduced scale
            gray = _grayscale(ImageOps.exif_transpose(image))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # The warning arrives here as an exception under `-W error`.
        raise UsageError(f"{path}: refused as a possible decompression bomb ({error})") from error
    except (OSError, ValueError, SyntaxError, EOFError, IndexError) as error:
        # Pillow's plugins report truncated or corrupt files with all of these.
        reason = str(error) or type(error).__name__
        raise UsageError(f"{path}: not a readable image ({reason})") from error
    for warning in caught:
        print(f"warning: {path}: {warning.message}", file=sys.stderr)
    if max(gray.size) > WORK_SIDE:
        scale = WORK_SIDE / max(gray.size)
        size = (max(1, round(gray.width * scale)), max(1, round(gray.height * scale)))
        gray = gray.resize(size, Image.Resampling.BOX)
    return np.asarray(gray, dtype=np.float32)


def _grayscale(image):
    """Luminance; a transparent background becomes the opposite of the opaque pixels' shade."""
    from PIL import Image

    if image.mode in ("I", "F") or image.mode.startswith("I;16"):  # 16-bit scans: 0-65535
        pixels = np.asarray(image, np.float32)
        return Image.fromarray(pixels * (255 / 65535) if pixels.max() > 255 else pixels)
    if "A" not in image.getbands() and "transparency" not in image.info:
        return image.convert("L")
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"))
    gray = rgba.convert("L")
    if alpha.min() == 255 or alpha.max() == 0:
        return gray
    shade = np.average(np.asarray(gray), weights=alpha)
    page = Image.new("L", rgba.size, 255 if shade < 128 else 0)
    page.paste(gray, mask=rgba.getchannel("A"))
    return page


def read_image(path: Path, invert: str = "auto") -> np.ndarray:
    """A 28x28 uint8 digit, light ink on black as in MNIST, from an image file of any size."""
    gray = open_image(path)
    if gray.shape == (SIDE, SIDE):
        return maybe_invert(gray, invert).astype(np.uint8)
    digit = centre_digit(remove_background(gray, invert_mode(invert), str(path)))
    return np.clip(np.round(digit), 0, 255).astype(np.uint8)


def read_array(path: Path) -> np.ndarray:
    """Images from a .npy file of shape (784,), (28, 28), (n, 784) or (n, 28, 28), values 0-255."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(f"{path}: not a readable .npy array ({error})") from error
    if array.shape in ((SIDE * SIDE,), (SIDE, SIDE)):
        array = array[None]
    if array.ndim not in (2, 3) or array.shape[1:] not in ((SIDE * SIDE,), (SIDE, SIDE)):
        raise UsageError(f"{path}: shape {array.shape}; expected (n, 784) or (n, 28, 28)")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise UsageError(f"{path}: dtype {array.dtype}; expected numbers 0-255")
    if array.size and (not np.isfinite(array).all() or array.min() < 0 or array.max() > 255):
        raise UsageError(f"{path}: values outside 0-255 (raw pixel values are expected)")
    if np.issubdtype(array.dtype, np.floating) and array.size and 0 < array.max() <= 1:
        print(f"warning: {path}: values are at most 1; the model expects 0-255", file=sys.stderr)
    return array.reshape(len(array), SIDE, SIDE).astype(np.float32)


def maybe_invert(image: np.ndarray, invert: str) -> np.ndarray:
    """MNIST is light ink on a dark background; `auto` inverts when most ink is darker than the
    page (its median), `always` and `never` (or `yes` and `no`) do as they say."""
    mode = invert_mode(invert)
    residual = image.astype(np.float32) - np.median(image)
    if mode == "always" or (mode == "auto" and ink_is_dark(residual, noise_level(residual))):
        return 255 - image
    return image


def load_inputs(paths: list[str], invert: str) -> tuple[list[str], np.ndarray]:
    """Names (file, or file[i] for arrays) and images (n, 28, 28) float32 0-255."""
    names: list[str] = []
    images: list[np.ndarray] = []
    for word in paths:
        path = Path(word)
        if path.is_dir():
            raise UsageError(f"input {path} is a folder; give image files or .npy arrays")
        if not path.is_file():
            raise FileNotFoundError(f"input {path} does not exist")
        if path.suffix.lower() == ".npy":
            array = read_array(path)
            names += [f"{path}[{i}]" for i in range(len(array))]
            images += [maybe_invert(image, invert) for image in array]
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            names.append(str(path))
            images.append(read_image(path, invert).astype(np.float32))
        else:
            raise UsageError(f"{path}: unsupported file type; give images or .npy arrays")
    return names, np.stack(images) if images else np.zeros((0, SIDE, SIDE), np.float32)


def save_preprocessed(names: list[str], images: np.ndarray, folder: Path) -> list[Path]:
    """Each 28x28 image the network saw as a PNG in `folder`, 8x enlarged, named after its
    input (digit.jpg -> digit.png, batch.npy[3] -> batch-3.png)."""
    from PIL import Image

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--show-preprocessed {folder}: cannot create it ({error})") from error
    written: list[Path] = []
    for name, image in zip(names, images, strict=True):
        row = re.fullmatch(r"(.*)\[(\d+)\]", name)  # a row of an array: batch.npy[3]
        base = f"{Path(row[1]).stem}-{row[2]}" if row else Path(name).stem
        target, n = folder / f"{base}.png", 2
        while target in written:
            target, n = folder / f"{base}-{n}.png", n + 1
        pixels = np.clip(np.round(image), 0, 255).astype(np.uint8)
        big = Image.fromarray(pixels).resize((SIDE * 8, SIDE * 8), Image.Resampling.NEAREST)
        try:
            big.save(target)
        except OSError as error:
            raise UsageError(f"--show-preprocessed: cannot write {target} ({error})") from error
        written.append(target)
    return written


def predict(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (n, classes) for raw pixel images."""
    return model.scores(images.reshape(len(images), -1)).softmax(-1).numpy()
