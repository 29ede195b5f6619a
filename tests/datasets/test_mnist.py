"""heron.datasets.MNIST / FashionMNIST: the real files in /work/shared/data (when present), small
IDX files written here (raw, gzipped, other names and layouts), damaged files, and downloads
from a local HTTP server with checksum verification."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

import heron
from heron.datasets import MNIST, DatasetNotFoundError, FashionMNIST, read_idx

SHARED = "/work/shared/data"
needs_shared_mnist = pytest.mark.skipif(not os.path.isdir(os.path.join(SHARED, "mnist")),
                                        reason="MNIST files not present")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Downloads and cache look-ups go to a temporary directory, and $HERON_DATA is unset."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("HERON_DATA", raising=False)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_split(directory, prefix, images, labels, gz=True, dotted=False):
    os.makedirs(directory, exist_ok=True)
    paths = []
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        name = f"{prefix}-{kind}-ubyte".replace("-idx", ".idx" if dotted else "-idx")
        path = os.path.join(directory, name + (".gz" if gz else ""))
        data = _idx_bytes(array)
        with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
            f.write(data)
        paths.append(path)
    return paths


def _small_split(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


# ---------------------------------------------------------------------------- real data
@needs_shared_mnist
def test_real_mnist_matches_its_published_facts():
    train, test = MNIST(SHARED, train=True, download=False), MNIST(os.path.join(SHARED, "mnist"), train=False)
    assert len(train) == 60000 and len(test) == 10000
    assert train.targets[:5].tolist() == [5, 0, 4, 1, 9] and test.targets[:5].tolist() == [7, 2, 1, 0, 4]
    counts = np.bincount(test.targets.numpy(), minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train.data.dtype is heron.uint8 and train.data.shape == (60000, 28, 28)
    assert test.targets.dtype is heron.int64
    image, label = test[0]
    assert image.shape == (1, 28, 28) and image.dtype is heron.float32 and label == 7 and isinstance(label, int)
    assert 0.0 <= image.min().item() and image.max().item() == 1.0


@needs_shared_mnist
def test_heron_data_environment_variable(monkeypatch):
    monkeypatch.setenv("HERON_DATA", SHARED)
    assert len(MNIST(train=False, download=False)) == 10000


# ---------------------------------------------------------------------------- files written here
def test_reads_gzipped_and_raw_files_and_applies_transforms(tmp_path):
    images, labels = _small_split()
    _write_split(tmp_path, "t10k", images, labels, gz=False, dotted=True)  # "t10k-images.idx3-ubyte"
    _write_split(tmp_path / "MNIST" / "raw", "train", *_small_split(3, seed=1))
    test = MNIST(tmp_path, train=False, transform=lambda x: x * 2, target_transform=lambda y: y + 100,
                 download=False)
    image, label = test[4]
    np.testing.assert_allclose(image.numpy()[0], images[4] / 255.0 * 2, rtol=1e-6)
    assert label == labels[4] + 100
    assert len(MNIST(tmp_path, train=True, download=False)) == 3  # found in the MNIST/raw/ layout


def test_fashion_mnist_layout(tmp_path):
    images, labels = _small_split(4)
    _write_split(tmp_path / "FashionMNIST" / "raw", "train", images, labels)
    fashion = FashionMNIST(tmp_path, download=False)
    assert fashion.targets.tolist() == labels.tolist() and fashion.classes[9] == "Ankle boot"
    assert repr(fashion) == "FashionMNIST(split=train, size=4)"


def test_damaged_files_raise_value_error(tmp_path):
    images, labels = _small_split()
    image_path, label_path = _write_split(tmp_path, "t10k", images, labels, gz=False)
    with open(label_path, "wb") as f:
        f.write(_idx_bytes(labels[:3]))
    with pytest.raises(ValueError, match="do not match labels"):
        MNIST(tmp_path, train=False, download=False)

    with open(image_path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match="IDX header promises shape"):
        read_idx(image_path)
    with open(image_path, "wb") as f:
        f.write(b"\x12\x34\x56\x78rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(image_path)
    gz_path = str(tmp_path / "broken.gz")
    with open(gz_path, "wb") as f:
        f.write(gzip.compress(_idx_bytes(labels))[:-12])
    with pytest.raises(ValueError, match="cannot read IDX data"):
        read_idx(gz_path)


def test_missing_files_without_download_raise_a_helpful_error(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="HERON_DATA") as info:
        MNIST(tmp_path / "nowhere", download=False)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, FileNotFoundError)
    assert "download=False" in str(info.value)


# ---------------------------------------------------------------------------- downloads
@pytest.fixture
def http_server(tmp_path):
    """Serves tmp_path/served over HTTP on localhost; yields its base URL."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _serve_test_split(directory, corrupt=False):
    images, labels = _small_split(6, seed=3)
    image_path, label_path = _write_split(directory, "t10k", images, labels)
    digests = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in (image_path, label_path)]
    if corrupt:
        with open(image_path, "ab") as f:
            f.write(b"tampered")
    return labels, digests


def _resources_for(digests):
    return {"train": MNIST.resources["train"],
            "test": (("t10k-images-idx3-ubyte.gz", None, digests[0]), ("t10k-labels-idx1-ubyte.gz", None, digests[1]))}


def test_download_verifies_checksums_and_falls_back_to_the_next_mirror(tmp_path, http_server, monkeypatch):
    served, url = http_server
    labels, digests = _serve_test_split(served / "good")
    _serve_test_split(served / "bad", corrupt=True)
    monkeypatch.setattr(MNIST, "resources", _resources_for(digests))
    monkeypatch.setattr(MNIST, "mirrors", [url + "missing/", url + "bad/", url + "good/"])
    test = MNIST(tmp_path / "empty", train=False)
    assert test.targets.tolist() == labels.tolist()
    cached = tmp_path / "cache" / "heron" / "mnist"
    assert sorted(os.listdir(cached)) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    # Next time the cache is used, with no server involved.
    monkeypatch.setattr(MNIST, "mirrors", [])
    assert len(MNIST(train=False, download=False)) == 6


def test_failed_downloads_are_reported_and_leave_nothing_behind(tmp_path, http_server, monkeypatch):
    served, url = http_server
    _, digests = _serve_test_split(served / "bad", corrupt=True)
    monkeypatch.setattr(MNIST, "resources", _resources_for(digests))
    monkeypatch.setattr(MNIST, "mirrors", [url + "bad/"])
    with pytest.raises(DatasetNotFoundError, match="sha256 checksum mismatch"):
        MNIST(tmp_path / "empty", train=False)
    assert os.listdir(tmp_path / "cache" / "heron" / "mnist") == []
