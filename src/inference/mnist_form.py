"""A digit in MNIST's form, from a grayscale photo: what the MNIST database did to every digit
(LeCun et al.), with the photo's paper removed first.

The paper is estimated as a smooth surface through the page and subtracted, so that the paper
becomes 0 and the ink bright, whichever of the two is darker; the ink's bounding box is scaled to
fit 20x20 keeping its aspect ratio, with anti-aliasing, and placed in 28x28 with its centre of
mass at pixel (14, 14).
"""

from __future__ import annotations

import numpy as np

from src.errors import UsageError

SIDE = 28
BOX = 20  # MNIST: the digit's longer side is 20 pixels ...
CENTRE = 14  # ... and its centre of mass is at pixel (14, 14), rounded to whole pixels
NOISE_FACTOR = 4  # ink is this many noise deviations away from the paper ...
MIN_CONTRAST = 24  # ... and at least this many grey levels darker (or brighter) than it


def paper_surface(
    gray: np.ndarray, cells: int = 12, rounds: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """The paper's brightness at every pixel: a quadratic surface fitted to the medians of a grid
    of cells, cells that differ from it (mostly ink, or the table around the sheet) left out of
    the next fit. Also the mask of the cells it was fitted to: the paper."""
    height, width = gray.shape
    rows = np.linspace(0, height, min(cells, height) + 1).astype(int)
    cols = np.linspace(0, width, min(cells, width) + 1).astype(int)
    medians, noises, ys, xs, boxes = [], [], [], [], []
    for top, bottom in zip(rows[:-1], rows[1:], strict=True):
        for left, right in zip(cols[:-1], cols[1:], strict=True):
            medians.append(np.median(gray[top:bottom, left:right]))
            noises.append(noise_level(gray[top:bottom, left:right]))
            ys.append((top + bottom - 1) / 2)
            xs.append((left + right - 1) / 2)
            boxes.append(np.s_[top:bottom, left:right])
    medians = np.asarray(medians)

    def terms(y, x):
        v, u = 2 * np.asarray(y) / max(height - 1, 1) - 1, 2 * np.asarray(x) / max(width - 1, 1) - 1
        return np.stack([np.ones_like(u), u, v, u * u, u * v, v * v], axis=-1)

    design = terms(ys, xs)
    noise = max(float(np.median(noises)), 2.0)
    # The first guess is a flat page as bright as the commonest cells: paper cells are alike,
    # while ink and a table around the sheet may together be as many.
    band = max(6 * noise, MIN_CONTRAST / 2)
    alike = np.abs(medians[:, None] - medians[None, :]) <= band / 2
    keep = np.abs(medians - medians[np.argmax(alike.sum(1))]) <= band
    coef = None
    for _ in range(rounds):
        if keep.sum() < 2 * design.shape[1]:  # too few paper cells for a surface
            break
        coef = np.linalg.lstsq(design[keep], medians[keep], rcond=None)[0]
        off = np.abs(medians - design @ coef)
        keep = off <= 3 * max(1.4826 * np.median(off[keep]), noise)
    keep |= not keep.any()  # nothing alike: every cell counts as paper
    paper = np.zeros(gray.shape, bool)
    for box, kept in zip(boxes, keep, strict=True):
        paper[box] |= kept
    if coef is None:  # a flat page
        return np.full(gray.shape, np.median(medians[keep]), np.float32), paper
    y, x = np.mgrid[0:height, 0:width]
    # Within the brightness of the paper cells: no surface running away beyond them.
    low, high = medians[keep].min(), medians[keep].max()
    return np.clip(terms(y, x) @ coef, low, high).astype(np.float32), paper


def noise_level(residual: np.ndarray) -> float:
    """The paper's noise, as a standard deviation (median absolute deviation: ink is rare)."""
    return float(1.4826 * np.median(np.abs(residual - np.median(residual))))


def ink_is_dark(residual: np.ndarray, noise: float) -> bool:
    """Judged from the whole page: is there more ink darker than the paper than brighter?"""
    margin = NOISE_FACTOR * noise
    return np.maximum(-residual - margin, 0).sum() > np.maximum(residual - margin, 0).sum()


def remove_background(gray: np.ndarray, invert: str, name: str) -> np.ndarray:
    """Ink as 0-1 (1 where the stroke is solid) on paper 0, specks away from the digit removed.
    invert: `auto` (judge from the page), `always` (the ink is dark) or `never`."""
    from scipy import ndimage

    surface, paper = paper_surface(gray)
    residual = gray - surface
    noise = noise_level(residual[paper])
    dark = ink_is_dark(residual, noise) if invert == "auto" else invert == "always"
    contrast = -residual if dark else residual
    if min(gray.shape) >= 64:  # sensor and JPEG noise, not the strokes
        contrast = ndimage.gaussian_filter(contrast, sigma=min(gray.shape) / 320)
        noise = noise_level(contrast[paper])
    candidates = contrast > max(NOISE_FACTOR * noise, MIN_CONTRAST / 2)
    level = np.percentile(contrast[candidates], 95) if candidates.any() else 0.0
    if level < max(MIN_CONTRAST, 2 * NOISE_FACTOR * noise):
        raise UsageError(f"{name}: no ink found (the page looks blank with --invert {invert})")
    # Solid where at least 3/4 of the ink's contrast, blank under 1/4: like NIST's bilevel
    # digits before MNIST's anti-aliased scaling, whatever the blur of the camera.
    low = max(level / 4, NOISE_FACTOR * noise)
    ink = np.clip((contrast - low) / max(level / 2, 1e-6), 0, 1)
    labels, count = ndimage.label(ink > 0, structure=np.ones((3, 3)))
    mass = ndimage.sum(ink, labels, index=np.arange(1, count + 1))
    # What covers a fifth of the image's edge is around the page (a table, the sheet's edge).
    ring = border(labels)
    mass[np.bincount(ring, minlength=count + 1)[1:] > ring.size / 5] = 0
    if not mass.any():
        raise UsageError(
            f"{name}: no ink found (only the page's surroundings with --invert {invert})"
        )
    keep = np.concatenate([[False], mass >= 0.05 * mass.max()])  # specks are much lighter
    return np.where(keep[labels], ink, 0).astype(np.float32)


def centre_digit(ink: np.ndarray) -> np.ndarray:
    """MNIST's normalisation: the bounding box scaled to fit BOX x BOX keeping its aspect ratio
    (anti-aliased), placed in SIDE x SIDE with its centre of mass at (CENTRE, CENTRE)."""
    from PIL import Image

    rows, cols = np.nonzero(ink >= 0.5 if ink.max() >= 0.5 else ink)  # the stroke's half-way edge
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = BOX / max(crop.shape)
    height, width = (max(1, round(side * scale)) for side in crop.shape)
    shrink = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    small = np.asarray(Image.fromarray(crop).resize((width, height), shrink), np.float32)
    small = np.clip(small, 0, None) * (255 / max(float(small.max()), 1e-6))
    mass = small.sum()
    y, x = np.mgrid[0:height, 0:width]
    top = int(np.round(CENTRE - (y * small).sum() / mass))
    left = int(np.round(CENTRE - (x * small).sum() / mass))
    digit = np.zeros((SIDE, SIDE), np.float32)
    # A digit whose mass sits near one end may overhang the 28x28 field: that part is cut off.
    rows = slice(max(top, 0), min(top + height, SIDE))
    cols = slice(max(left, 0), min(left + width, SIDE))
    digit[rows, cols] = small[
        rows.start - top : rows.stop - top, cols.start - left : cols.stop - left
    ]
    return digit


def border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
