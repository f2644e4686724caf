"""Datasets for bncvl analyze: digits and user .npz files, with clear errors on bad files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bncvl.analysis.data import load_dataset


def _write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def _images_and_labels(n=40, classes=4, shape=(6, 5), seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, size=(n, *shape)).astype(np.uint8), np.arange(n) % classes


def test_digits_split_shapes_and_scaling():
    data = load_dataset("digits")
    assert data.image_shape == (1, 8, 8)
    assert data.num_classes == 10
    assert len(data.train_labels) + len(data.test_labels) == 1797
    assert len(data.test_labels) == 360  # 20%, stratified
    assert torch.bincount(data.test_labels).min() >= 35
    assert data.train_images.dtype == torch.float32
    assert float(data.train_images.min()) == 0.0
    assert float(data.train_images.max()) == 1.0  # pixel values 0..16, divided by 16


def test_split_is_fixed_by_split_seed():
    a, b = load_dataset("digits"), load_dataset("digits")
    assert torch.equal(a.test_images, b.test_images)
    c = load_dataset("digits", split_seed=1)
    assert not torch.equal(a.test_images, c.test_images)


def test_user_npz_3d_images_get_a_channel_and_labels_are_remapped(tmp_path):
    images, labels = _images_and_labels()
    path = _write_npz(tmp_path / "mine.npz", images=images, labels=labels * 10 + 3)
    data = load_dataset(str(path), test_fraction=0.25)
    assert data.name == "mine.npz"
    assert data.image_shape == (1, 6, 5)
    assert data.classes == (3, 13, 23, 33)
    assert sorted(set(data.train_labels.tolist())) == [0, 1, 2, 3]
    assert len(data.test_labels) == 10


def test_user_npz_4d_images(tmp_path):
    images, labels = _images_and_labels(shape=(3, 4, 4))
    data = load_dataset(str(_write_npz(tmp_path / "rgb.npz", images=images, labels=labels)))
    assert data.image_shape == (3, 4, 4)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"does not exist; expected a \.npz"):
        load_dataset(str(tmp_path / "nope.npz"))


def test_not_an_npz(tmp_path):
    path = tmp_path / "text.npz"
    path.write_text("hello")
    with pytest.raises(ValueError, match=r"text\.npz.*expected a \.npz with 'images'"):
        load_dataset(str(path))


def test_single_array_npy(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="single array, not an archive"):
        load_dataset(str(path))


def test_missing_key_names_the_keys_found(tmp_path):
    images, _ = _images_and_labels()
    path = _write_npz(tmp_path / "x.npz", images=images, targets=np.zeros(40, dtype=int))
    with pytest.raises(ValueError, match=r"missing \['labels'\].*got keys \['images', 'targets'\]"):
        load_dataset(str(path))


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    _images, labels = _images_and_labels()
    ragged = np.empty(40, dtype=object)
    ragged[:] = [np.zeros(i % 3 + 1) for i in range(40)]
    path = _write_npz(tmp_path / "obj.npz", images=ragged, labels=labels)
    with pytest.raises(ValueError, match="without pickle"):
        load_dataset(str(path))


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((40, 2, 2, 2, 2)), np.arange(40) % 4, "numeric 3-D or 4-D array; got 5-D"),
        (np.zeros((40, 8)), np.arange(40) % 4, "got 2-D"),
        (np.zeros((40, 4, 4)), (np.arange(40) % 4).astype(float), "1-D integer array; got 1-D float64"),
        (np.zeros((40, 4, 4)), np.arange(39) % 4, "40 images but 39 labels"),
        (np.full((40, 4, 4), np.nan), np.arange(40) % 4, "NaN or infinite"),
        (np.zeros((40, 4, 4)), np.zeros(40, dtype=int), "1 class"),
        (np.zeros((5, 4, 4)), np.arange(5), "stratified"),
    ],
)
def test_bad_arrays(tmp_path, images, labels, message):
    path = _write_npz(tmp_path / "bad.npz", images=images, labels=labels)
    with pytest.raises(ValueError, match=message):
        load_dataset(str(path))


def test_bad_test_fraction():
    with pytest.raises(ValueError, match=r"test fraction must be in \(0, 1\); got 1.5"):
        load_dataset("digits", test_fraction=1.5)
