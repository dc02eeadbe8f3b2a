"""What a user hands src.predict, as the network's input: image files (any size, converted to
28x28 grayscale) and .npy arrays, light ink on a dark background as in MNIST."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from src.errors import UsageError

SIDE = 28
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def read_image(path: Path) -> np.ndarray:
    """A 28x28 uint8 grayscale image: padded to a square with its border colour, then resized."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            gray = ImageOps.exif_transpose(image).convert("L")
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"{path}: not a readable image ({error})") from error
    pixels = np.asarray(gray)
    side = max(pixels.shape)
    if pixels.shape[0] != pixels.shape[1]:  # keep the aspect ratio: a squashed 1 looks like a 7
        background = int(np.median(border(pixels)))
        square = Image.new("L", (side, side), background)
        square.paste(gray, ((side - pixels.shape[1]) // 2, (side - pixels.shape[0]) // 2))
        gray = square
    return np.asarray(gray.resize((SIDE, SIDE), Image.Resampling.LANCZOS), dtype=np.uint8)


def read_array(path: Path) -> np.ndarray:
    """Images from a .npy file of shape (784,), (28, 28), (n, 784) or (n, 28, 28), values 0-255."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
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


def border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def maybe_invert(image: np.ndarray, invert: str) -> np.ndarray:
    """MNIST is light ink on a dark background; `auto` inverts when the border is bright."""
    if invert == "yes" or (invert == "auto" and border(image).mean() > 127):
        return 255 - image
    return image


def load_inputs(paths: list[str], invert: str) -> tuple[list[str], np.ndarray]:
    """Names (file, or file[i] for arrays) and images (n, 28, 28) float32 0-255."""
    names: list[str] = []
    images: list[np.ndarray] = []
    for word in paths:
        path = Path(word)
        if not path.is_file():
            raise FileNotFoundError(f"input {path} does not exist")
        if path.suffix.lower() == ".npy":
            array = read_array(path)
            names += [f"{path}[{i}]" for i in range(len(array))]
            images += list(array)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            names.append(str(path))
            images.append(read_image(path).astype(np.float32))
        else:
            raise UsageError(f"{path}: unsupported file type; give images or .npy arrays")
    images = [maybe_invert(image, invert) for image in images]
    return names, np.stack(images) if images else np.zeros((0, SIDE, SIDE), np.float32)


def predict(model, images: np.ndarray) -> np.ndarray:
    """Class probabilities (n, classes) for raw pixel images."""
    return model.scores(images.reshape(len(images), -1)).softmax(-1).numpy()
