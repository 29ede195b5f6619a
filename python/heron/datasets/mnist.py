"""MNIST and Fashion-MNIST from their IDX files (gzipped or raw)."""
from __future__ import annotations

import gzip
import os

import numpy as np

import heron
from heron.utils.data import Dataset

from . import _files

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or raw): a big-endian header ``0, 0, type,
    ndim``, ``ndim`` 32-bit sizes, then the values."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:  # e.g. a truncated or corrupt gzip stream
        raise ValueError(f"{path}: cannot read IDX data ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()})")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header_size != count * dtype.itemsize:
        raise ValueError(f"{path}: IDX header promises shape {shape} ({count * dtype.itemsize} bytes of data) but "
                         f"the file holds {len(raw) - header_size}")
    return np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(Dataset):
    """The MNIST digits: 60,000 training or 10,000 test images.

    Item ``i`` is ``(image, label)``: a float32 tensor of shape (1, 28, 28) in [0, 1] (passed
    through ``transform`` if given) and an int (through ``target_transform``). For whole-array
    work use ``data`` (uint8, (N, 28, 28)) and ``targets`` (int64, (N,)).

    Files are read from ``root`` (or ``$HERON_DATA``), its ``mnist/``, ``MNIST/raw/`` or
    ``MNIST/`` sub-directories, or ``~/.cache/heron/mnist``; missing files are downloaded
    there with checksum verification when ``download`` is true.
    """

    name = "MNIST"
    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    # split -> ((file, md5, sha256) for images, the same for labels)
    resources = {
        "train": (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
                  ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c")),
        "test": (("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
                  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
                  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6")),
    }
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root=None, train: bool = True, transform=None, target_transform=None, download: bool = True):
        self.root = root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        images_resource, labels_resource = self.resources["train" if train else "test"]
        images = read_idx(self._locate(images_resource, download))
        labels = read_idx(self._locate(labels_resource, download))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{self.name}: images of shape {images.shape} do not match labels of shape {labels.shape}")
        self.data = heron.from_numpy(images.astype(np.uint8, copy=False))
        self.targets = heron.from_numpy(labels.astype(np.int64))

    def _locate(self, resource, download: bool) -> str:
        file_name, md5, sha256 = resource
        raw_name = file_name[:-3]
        # Also the names some copies use: "train-images.idx3-ubyte" for "train-images-idx3-ubyte".
        alternatives = [raw_name, raw_name.replace("-idx", ".idx"), raw_name.replace("-idx", ".idx") + ".gz"]
        subdirs = [self.name.lower(), os.path.join(self.name, "raw"), self.name]
        return _files.locate_or_download(self.name, self.root, subdirs, file_name, alternatives, self.mirrors,
                                         download_allowed=download, sha256=sha256, md5=md5)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index):
        image = (self.data[index].to(heron.float32) / 255.0).unsqueeze(0)
        target = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __repr__(self):
        return f"{self.name}(split={'train' if self.train else 'test'}, size={len(self)})"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the MNIST layout with 10 clothing classes."""

    name = "FashionMNIST"
    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"]
    resources = {
        "train": (("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", None),
                  ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", None)),
        "test": (("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", None),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", None)),
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]
