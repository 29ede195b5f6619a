"""heron.datasets: MNIST-style IDX image datasets and character-level text datasets, read from
disk (an argument or $HERON_DATA) or downloaded with checksum verification into ~/.cache/heron."""
from ._files import DatasetNotFoundError
from .mnist import MNIST, FashionMNIST, read_idx
from .text import CharDataset, TinyShakespeare

__all__ = ["CharDataset", "DatasetNotFoundError", "FashionMNIST", "MNIST", "TinyShakespeare", "read_idx"]
