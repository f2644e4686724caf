"""Datasets for ``bncvl analyze``: scikit-learn's 8×8 digits, or a user's ``.npz``.

Both come out as the same :class:`Dataset`: float32 (N, C, H, W) images
scaled to [0, 1] with the training split's min and max (for digits, the
usual division by 16), int64 labels 0..K-1,
and a stratified train/test split that is fixed by ``split_seed`` (so runs
with different training seeds are scored on the same test images).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from bncvl._extras import needs_extra

__all__ = ["DEFAULT_DATASET", "DEFAULT_SPLIT_SEED", "DEFAULT_TEST_FRACTION", "Dataset", "load_dataset"]

DEFAULT_DATASET = "digits"
DEFAULT_TEST_FRACTION = 0.2
DEFAULT_SPLIT_SEED = 0
_IMAGES, _LABELS = "images", "labels"


@dataclass(frozen=True)
class Dataset:
    """A scaled image-classification dataset split into train and test."""

    name: str
    train_images: Tensor
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    classes: tuple[int | str, ...]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        _, c, h, w = self.train_images.shape
        return c, h, w

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _train_test_split(
    images: np.ndarray, labels: np.ndarray, test_fraction: float, split_seed: int, source: str
) -> tuple[np.ndarray, ...]:
    with needs_extra("analysis", "bncvl analyze", RuntimeError):
        from sklearn.model_selection import train_test_split
    try:
        return train_test_split(images, labels, test_size=test_fraction, random_state=split_seed, stratify=labels)
    except ValueError as error:
        raise ValueError(
            f"{source}: cannot make a stratified {test_fraction:.0%} test split "
            f"(each class needs at least 2 images and the test split at least one per class): {error}"
        ) from error


def _build(name: str, images: np.ndarray, labels: np.ndarray, test_fraction: float, split_seed: int) -> Dataset:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test fraction must be in (0, 1); got {test_fraction}")
    if images.ndim == 3:
        images = images[:, None]
    classes, label_ids = np.unique(labels, return_inverse=True)
    train_x, test_x, train_y, test_y = _train_test_split(
        images.astype(np.float64), label_ids, test_fraction, split_seed, name
    )
    low, span = train_x.min(), train_x.max() - train_x.min()
    span = span if span > 0 else 1.0

    def to_tensor(x: np.ndarray) -> Tensor:
        return torch.from_numpy(((x - low) / span).astype(np.float32))

    return Dataset(
        name=name,
        train_images=to_tensor(train_x),
        train_labels=torch.from_numpy(train_y.astype(np.int64)),
        test_images=to_tensor(test_x),
        test_labels=torch.from_numpy(test_y.astype(np.int64)),
        classes=tuple(c.item() for c in classes),
    )


def load_digits_dataset(test_fraction: float = DEFAULT_TEST_FRACTION, split_seed: int = DEFAULT_SPLIT_SEED) -> Dataset:
    """scikit-learn's 1,797 8×8 handwritten digits (shipped with it, no download), 10 classes.

    Raises:
        RuntimeError: if scikit-learn is not installed (the ``analysis`` extra).
    """
    with needs_extra("analysis", "bncvl analyze", RuntimeError):
        from sklearn.datasets import load_digits
    digits = load_digits()
    return _build(DEFAULT_DATASET, digits.images, digits.target, test_fraction, split_seed)


def load_npz_dataset(
    path: str | Path, test_fraction: float = DEFAULT_TEST_FRACTION, split_seed: int = DEFAULT_SPLIT_SEED
) -> Dataset:
    """A user's ``.npz`` holding ``images`` (N, H, W) or (N, C, H, W), numeric, and ``labels`` (N,), integer.

    Loaded with ``allow_pickle=False``: object arrays are refused, never unpickled.

    Raises:
        FileNotFoundError: if ``path`` does not exist or is a directory.
        ValueError: if the file is not a readable ``.npz`` or its arrays are not of the expected form.
    """
    path = Path(path)
    if not path.is_file():
        problem = "is a directory" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"dataset file {str(path)!r} {problem}; expected a .npz with 'images' and 'labels'")
    expected = f"expected a .npz with '{_IMAGES}' (N, H, W) or (N, C, H, W) and '{_LABELS}' (N,) integer arrays"
    try:
        loaded = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
        raise ValueError(f"{path}: not a readable .npz without pickle ({error}); {expected}") from error
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array, not an archive; {expected}")
    with loaded as archive:
        missing = [key for key in (_IMAGES, _LABELS) if key not in archive.files]
        if missing:
            raise ValueError(f"{path}: missing {missing}; {expected}; got keys {sorted(archive.files)}")
        try:
            images, labels = archive[_IMAGES], archive[_LABELS]
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            raise ValueError(f"{path}: cannot read its arrays without pickle ({error}); {expected}") from error
    if images.ndim not in (3, 4) or not np.issubdtype(images.dtype, np.number) or images.dtype == np.bool_:
        raise ValueError(f"{path}: '{_IMAGES}' must be a numeric 3-D or 4-D array; got {images.ndim}-D {images.dtype}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: '{_LABELS}' must be a 1-D integer array; got {labels.ndim}-D {labels.dtype}")
    if len(images) != len(labels):
        raise ValueError(f"{path}: {len(images)} images but {len(labels)} labels; expected one label per image")
    if not np.isfinite(images).all():
        raise ValueError(f"{path}: '{_IMAGES}' holds NaN or infinite values; expected finite numbers")
    if len(np.unique(labels)) < 2:
        raise ValueError(f"{path}: '{_LABELS}' has {len(np.unique(labels))} class(es); expected at least 2")
    return _build(path.name, images, labels, test_fraction, split_seed)


def load_dataset(
    source: str, test_fraction: float = DEFAULT_TEST_FRACTION, split_seed: int = DEFAULT_SPLIT_SEED
) -> Dataset:
    """``"digits"`` for scikit-learn's digits, else the path of a ``.npz`` (see :func:`load_npz_dataset`)."""
    if source == DEFAULT_DATASET:
        return load_digits_dataset(test_fraction, split_seed)
    return load_npz_dataset(source, test_fraction, split_seed)
