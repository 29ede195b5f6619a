"""heron.nn against torch.nn: for every module and loss, the torch and heron versions are built
with the same arguments, given the same weights (copied through NumPy via state_dict) and
inputs, and must agree on outputs, input and parameter gradients, buffers after the call,
state_dict keys and shapes, and repr. Runs in float64. Skipped when torch is not importable."""
from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest

import heron

torch = pytest.importorskip("torch")

TORCH = SimpleNamespace(nn=torch.nn, tensor=lambda a: torch.tensor(a), name="torch")
HERON = SimpleNamespace(nn=heron.nn, tensor=lambda a: heron.tensor(a), name="heron")
RTOL, ATOL = 1e-6, 1e-9


@dataclass
class Case:
    """A module built by ``build(lib)`` (lib: TORCH or HERON) and called on ``inputs(rng)``
    (NumPy arrays: floating ones become float64 leaves that require grad)."""

    id: str
    build: Callable
    inputs: Callable
    modes: tuple = ("train",)  # the modes to run it in, in order, on the same module pair
    calls: int = 1  # forward+backward passes per mode (running statistics accumulate)
    check_grads: bool = True
    kwargs: dict = field(default_factory=dict)

    def __repr__(self):
        return self.id


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def randint(high, *shape):
    return lambda rng: rng.integers(0, high, size=shape)


def uniform(low, high, *shape):
    return lambda rng: rng.uniform(low, high, size=shape)


def fixed(array):
    return lambda rng: np.asarray(array)


def args(*makers):
    return lambda rng: [make(rng) for make in makers]


def module_cases():
    x46 = args(normal(4, 6))
    cases = [
        Case("Linear", lambda L: L.nn.Linear(3, 4), args(normal(5, 3))),
        Case("Linear-no-bias-3d", lambda L: L.nn.Linear(3, 4, bias=False), args(normal(2, 5, 3))),
        Case("Bilinear", lambda L: L.nn.Bilinear(3, 2, 4), args(normal(5, 3), normal(5, 2))),
        Case("Embedding", lambda L: L.nn.Embedding(10, 3), args(randint(10, 2, 4))),
        Case("Embedding-padding", lambda L: L.nn.Embedding(10, 3, padding_idx=0),
             args(fixed([[0, 3, 0], [9, 0, 1]]))),
        Case("EmbeddingBag-mean", lambda L: L.nn.EmbeddingBag(10, 3), args(randint(10, 3, 4))),
        Case("EmbeddingBag-sum-offsets", lambda L: L.nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2),
             args(fixed([1, 2, 3, 4, 2, 6, 7]), fixed([0, 2, 2, 5]))),
        Case("Dropout-eval", lambda L: L.nn.Dropout(0.3), x46, modes=("eval",)),
        Case("LayerNorm", lambda L: L.nn.LayerNorm(6), x46),
        Case("LayerNorm-2d-no-bias", lambda L: L.nn.LayerNorm((3, 6), eps=1e-3, bias=False), args(normal(2, 3, 6))),
        Case("LayerNorm-no-affine", lambda L: L.nn.LayerNorm(6, elementwise_affine=False), x46),
        Case("RMSNorm", lambda L: L.nn.RMSNorm(6), x46),
        Case("RMSNorm-2d-eps", lambda L: L.nn.RMSNorm([3, 6], eps=1e-6), args(normal(2, 3, 6))),
        Case("BatchNorm1d", lambda L: L.nn.BatchNorm1d(6), x46, modes=("train", "eval"), calls=2),
        Case("BatchNorm1d-3d-momentum-none", lambda L: L.nn.BatchNorm1d(3, momentum=None), args(normal(4, 3, 5)),
             modes=("train", "eval"), calls=3),
        Case("BatchNorm1d-no-affine", lambda L: L.nn.BatchNorm1d(6, affine=False, eps=1e-3), x46, modes=("train", "eval")),
        Case("BatchNorm1d-no-running-stats", lambda L: L.nn.BatchNorm1d(6, track_running_stats=False), x46,
             modes=("train", "eval")),
        Case("Identity", lambda L: L.nn.Identity(3, flag=True), x46),
        Case("Flatten", lambda L: L.nn.Flatten(), args(normal(2, 3, 4))),
        Case("Flatten-0-1", lambda L: L.nn.Flatten(0, 1), args(normal(2, 3, 4))),
        Case("Unflatten", lambda L: L.nn.Unflatten(1, (2, 3)), x46),
        Case("CosineSimilarity", lambda L: L.nn.CosineSimilarity(dim=-1, eps=1e-6), args(normal(4, 6), normal(4, 6))),
    ]
    cases += conv_cases()
    cases += cnn_layer_cases()
    activations = {
        "ReLU": lambda nn: nn.ReLU(), "ReLU6": lambda nn: nn.ReLU6(), "LeakyReLU": lambda nn: nn.LeakyReLU(0.2),
        "ELU": lambda nn: nn.ELU(alpha=0.7), "SELU": lambda nn: nn.SELU(), "CELU": lambda nn: nn.CELU(alpha=0.5),
        "GELU": lambda nn: nn.GELU(), "GELU-tanh": lambda nn: nn.GELU(approximate="tanh"), "SiLU": lambda nn: nn.SiLU(),
        "Mish": lambda nn: nn.Mish(), "Tanh": lambda nn: nn.Tanh(), "Sigmoid": lambda nn: nn.Sigmoid(),
        "Hardtanh": lambda nn: nn.Hardtanh(-0.5, 2.0), "Hardsigmoid": lambda nn: nn.Hardsigmoid(),
        "Hardswish": lambda nn: nn.Hardswish(), "Softplus": lambda nn: nn.Softplus(beta=2.0, threshold=3.0),
        "Softmax": lambda nn: nn.Softmax(dim=1), "LogSoftmax": lambda nn: nn.LogSoftmax(dim=-1),
        "Softmin": lambda nn: nn.Softmin(dim=0), "GLU": lambda nn: nn.GLU(),
    }
    for name, make in activations.items():
        cases.append(Case(name, lambda L, make=make: make(L.nn), args(uniform(-5, 5, 4, 6))))
    cases += [
        Case("Sequential", lambda L: L.nn.Sequential(L.nn.Linear(6, 5), L.nn.LayerNorm(5), L.nn.GELU(), L.nn.Dropout(0.1),
                                                     L.nn.Linear(5, 2)), x46, modes=("eval",)),
        Case("Sequential-named", lambda L: L.nn.Sequential(OrderedDict([("embed", L.nn.Embedding(10, 4)),
                                                                        ("flat", L.nn.Flatten()),
                                                                        ("out", L.nn.Linear(12, 3))])),
             args(randint(10, 2, 3))),
        Case("MLP-with-BatchNorm", lambda L: L.nn.Sequential(L.nn.Linear(6, 8), L.nn.BatchNorm1d(8), L.nn.ReLU(),
                                                             L.nn.Linear(8, 3)), x46, modes=("train", "eval")),
    ]
    return cases


def conv_cases():
    return [
        Case("Conv1d", lambda L: L.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2), args(normal(2, 4, 9))),
        Case("Conv1d-same-reflect-unbatched",
             lambda L: L.nn.Conv1d(3, 2, 4, padding="same", padding_mode="reflect", bias=False), args(normal(3, 8))),
        Case("Conv2d", lambda L: L.nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2)),
             args(normal(2, 3, 7, 6))),
        Case("Conv2d-depthwise-circular", lambda L: L.nn.Conv2d(3, 6, 3, padding=1, groups=3, padding_mode="circular"),
             args(normal(2, 3, 5, 5))),
        Case("Conv2d-same-replicate", lambda L: L.nn.Conv2d(2, 3, (2, 3), padding="same", padding_mode="replicate"),
             args(normal(2, 2, 5, 4))),
        Case("Conv2d-valid-stride-3", lambda L: L.nn.Conv2d(2, 3, 2, stride=3, padding="valid"), args(normal(2, 2, 8, 7))),
        Case("ConvTranspose1d", lambda L: L.nn.ConvTranspose1d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2),
             args(normal(2, 4, 5))),
        Case("ConvTranspose2d", lambda L: L.nn.ConvTranspose2d(3, 4, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2),
                                                               bias=False), args(normal(2, 3, 4, 4))),
        Case("ConvTranspose2d-output-size", lambda L: L.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1),
             args(normal(1, 2, 4, 4)), kwargs={"output_size": (8, 7)}),
        Case("CNN", lambda L: L.nn.Sequential(L.nn.Conv2d(1, 4, 3, padding=1), L.nn.ReLU(), L.nn.Conv2d(4, 2, 3, stride=2),
                                              L.nn.Flatten(), L.nn.Linear(18, 3)), args(normal(2, 1, 7, 7))),
    ]



def _unpool_indices(shape, kernel):
    """Valid max-pool indices for values of ``shape``: one position inside each window."""
    rng = np.random.default_rng(len(shape))
    spatial = shape[-len(kernel):]
    grids = np.meshgrid(*[np.arange(s) for s in spatial], indexing="ij")
    coordinates = [g * k + rng.integers(0, k, size=g.shape) for g, k in zip(grids, kernel)]
    full = [s * k for s, k in zip(spatial, kernel)]
    flat = np.ravel_multi_index(coordinates, full)
    return fixed(np.broadcast_to(flat, shape).copy())


def cnn_layer_cases():
    """Pooling, padding, resampling, normalisation and channel-dropout layers."""
    x1, x2, x3 = args(normal(2, 3, 9)), args(normal(2, 3, 7, 8)), args(normal(2, 2, 5, 6, 4))
    positive2 = args(uniform(0.1, 2.0, 2, 3, 7, 8))
    cases = [
        Case("MaxPool1d", lambda L: L.nn.MaxPool1d(3, 2, 1), x1),
        Case("MaxPool1d-unbatched-ceil", lambda L: L.nn.MaxPool1d(2, ceil_mode=True), args(normal(3, 9))),
        Case("MaxPool2d", lambda L: L.nn.MaxPool2d(3, 2, 1), x2),
        Case("MaxPool2d-dilation-ceil", lambda L: L.nn.MaxPool2d((2, 3), (1, 2), (1, 0), (2, 1), ceil_mode=True), x2),
        Case("MaxPool3d", lambda L: L.nn.MaxPool3d(2, padding=1), x3),
        Case("AvgPool1d", lambda L: L.nn.AvgPool1d(3, 2, 1, ceil_mode=True), x1),
        Case("AvgPool2d-exclude-pad", lambda L: L.nn.AvgPool2d(3, 2, 1, count_include_pad=False), x2),
        Case("AvgPool2d-ceil-divisor", lambda L: L.nn.AvgPool2d(2, ceil_mode=True, divisor_override=3), x2),
        Case("AvgPool3d", lambda L: L.nn.AvgPool3d((2, 3, 2), 1), x3),
        Case("LPPool1d", lambda L: L.nn.LPPool1d(2, 3), args(uniform(0.1, 2.0, 2, 3, 9))),
        Case("LPPool2d", lambda L: L.nn.LPPool2d(1.5, 2, 1, ceil_mode=True), positive2),
        Case("LPPool3d", lambda L: L.nn.LPPool3d(3, 2), args(uniform(0.1, 2.0, 2, 2, 5, 6, 4))),
        Case("AdaptiveAvgPool1d", lambda L: L.nn.AdaptiveAvgPool1d(4), x1),
        Case("AdaptiveAvgPool2d-none", lambda L: L.nn.AdaptiveAvgPool2d((3, None)), x2),
        Case("AdaptiveAvgPool2d-global", lambda L: L.nn.AdaptiveAvgPool2d(1), x2),
        Case("AdaptiveAvgPool3d", lambda L: L.nn.AdaptiveAvgPool3d((2, 4, 3)), x3),
        Case("AdaptiveMaxPool1d", lambda L: L.nn.AdaptiveMaxPool1d(4), x1),
        Case("AdaptiveMaxPool2d", lambda L: L.nn.AdaptiveMaxPool2d((5, 3)), x2),
        Case("AdaptiveMaxPool3d", lambda L: L.nn.AdaptiveMaxPool3d(3), x3),
        Case("MaxUnpool1d", lambda L: L.nn.MaxUnpool1d(3), args(normal(2, 3, 4), _unpool_indices((2, 3, 4), (3,)))),
        Case("MaxUnpool2d", lambda L: L.nn.MaxUnpool2d(2), args(normal(2, 3, 3, 4), _unpool_indices((2, 3, 3, 4), (2, 2))),
             kwargs={"output_size": (7, 8)}),
        Case("MaxUnpool3d", lambda L: L.nn.MaxUnpool3d(2), args(normal(1, 2, 2, 2, 3), _unpool_indices((1, 2, 2, 2, 3),
                                                                                                      (2, 2, 2)))),
        Case("ZeroPad1d", lambda L: L.nn.ZeroPad1d((2, -1)), x1),
        Case("ZeroPad2d", lambda L: L.nn.ZeroPad2d((1, 2, 0, 1)), x2),
        Case("ZeroPad3d", lambda L: L.nn.ZeroPad3d(1), x3),
        Case("ConstantPad1d", lambda L: L.nn.ConstantPad1d(2, 3.5), x1),
        Case("ConstantPad2d", lambda L: L.nn.ConstantPad2d((1, 0, 2, 1), -1.0), x2),
        Case("ConstantPad3d", lambda L: L.nn.ConstantPad3d((1, 0, 0, 1, 1, 1), 2.0), x3),
        Case("ReflectionPad1d", lambda L: L.nn.ReflectionPad1d((2, 3)), x1),
        Case("ReflectionPad2d", lambda L: L.nn.ReflectionPad2d((1, 0, 2, 1)), x2),
        Case("ReflectionPad3d", lambda L: L.nn.ReflectionPad3d(1), x3),
        Case("ReplicationPad1d", lambda L: L.nn.ReplicationPad1d(3), x1),
        Case("ReplicationPad2d", lambda L: L.nn.ReplicationPad2d((2, 0, 1, 3)), x2),
        Case("ReplicationPad3d", lambda L: L.nn.ReplicationPad3d(2), x3),
        Case("CircularPad1d", lambda L: L.nn.CircularPad1d((1, 2)), x1),
        Case("CircularPad2d", lambda L: L.nn.CircularPad2d(1), x2),
        Case("CircularPad3d", lambda L: L.nn.CircularPad3d((1, 0, 2, 1, 0, 1)), x3),
        Case("PixelShuffle", lambda L: L.nn.PixelShuffle(2), args(normal(2, 8, 3, 4))),
        Case("PixelUnshuffle", lambda L: L.nn.PixelUnshuffle(2), args(normal(2, 2, 4, 6))),
        Case("Upsample-nearest", lambda L: L.nn.Upsample(scale_factor=2), x2),
        Case("Upsample-nearest-exact", lambda L: L.nn.Upsample(size=(5, 11), mode="nearest-exact"), x2),
        Case("Upsample-linear", lambda L: L.nn.Upsample(scale_factor=1.5, mode="linear"), x1),
        Case("Upsample-bilinear-align", lambda L: L.nn.Upsample(size=(5, 9), mode="bilinear", align_corners=True), x2),
        Case("Upsample-bicubic", lambda L: L.nn.Upsample(scale_factor=(1.5, 0.75), mode="bicubic"), x2),
        Case("Upsample-trilinear", lambda L: L.nn.Upsample(size=3, mode="trilinear", recompute_scale_factor=None), x3),
        Case("Upsample-area", lambda L: L.nn.Upsample(scale_factor=0.5, mode="area"), x2),
        Case("UpsamplingNearest2d", lambda L: L.nn.UpsamplingNearest2d(scale_factor=2), x2),
        Case("UpsamplingBilinear2d", lambda L: L.nn.UpsamplingBilinear2d(size=(4, 5)), x2),
        Case("BatchNorm2d", lambda L: L.nn.BatchNorm2d(3), x2, modes=("train", "eval"), calls=2),
        Case("BatchNorm2d-no-affine-momentum-none", lambda L: L.nn.BatchNorm2d(3, affine=False, momentum=None), x2,
             modes=("train", "eval"), calls=2),
        Case("BatchNorm3d", lambda L: L.nn.BatchNorm3d(2, eps=1e-3), x3, modes=("train", "eval")),
        Case("InstanceNorm1d", lambda L: L.nn.InstanceNorm1d(3), x1),
        Case("InstanceNorm2d-affine-tracked", lambda L: L.nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
             x2, modes=("train", "eval"), calls=2),
        Case("InstanceNorm2d-unbatched", lambda L: L.nn.InstanceNorm2d(3, affine=True), args(normal(3, 7, 8))),
        Case("InstanceNorm3d", lambda L: L.nn.InstanceNorm3d(2, momentum=0.3, track_running_stats=True), x3,
             modes=("train", "eval")),
        Case("GroupNorm", lambda L: L.nn.GroupNorm(2, 6), args(normal(2, 6, 5, 4))),
        Case("GroupNorm-no-affine", lambda L: L.nn.GroupNorm(3, 6, eps=1e-3, affine=False), args(normal(3, 6, 7))),
        Case("LocalResponseNorm", lambda L: L.nn.LocalResponseNorm(3, alpha=0.01, beta=0.6, k=2.0), x2),
    ]
    cases += [Case(f"{name}-eval", lambda L, name=name: getattr(L.nn, name)(0.3), inputs, modes=("eval",))
              for name, inputs in (("Dropout1d", x1), ("Dropout2d", x2), ("Dropout3d", x3), ("AlphaDropout", x2),
                                   ("FeatureAlphaDropout", x3))]
    cases.append(Case("CNN-with-pooling-and-norms",
                      lambda L: L.nn.Sequential(L.nn.Conv2d(3, 6, 3, padding=1), L.nn.BatchNorm2d(6), L.nn.ReLU(),
                                                L.nn.MaxPool2d(2), L.nn.GroupNorm(2, 6),
                                                L.nn.Upsample(scale_factor=2, mode="bilinear"), L.nn.ReflectionPad2d(1),
                                                L.nn.AvgPool2d(3, 2), L.nn.AdaptiveAvgPool2d(1), L.nn.Flatten(),
                                                L.nn.Linear(6, 2)), x2, modes=("train", "eval")))
    return cases


class Model:
    """A user-defined model: submodules in a ModuleList and a ModuleDict, a ParameterList and
    ParameterDict, and a buffer."""

    @staticmethod
    def build(L):
        class Net(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = L.nn.ModuleList([L.nn.Linear(6, 6), L.nn.Linear(6, 6), L.nn.Linear(6, 4)])
                self.heads = L.nn.ModuleDict({"a": L.nn.Linear(4, 2), "b": L.nn.Tanh()})
                self.scales = L.nn.ParameterList([L.nn.Parameter(L.tensor(np.ones(6))), L.tensor(np.full(4, 0.5))])
                self.shifts = L.nn.ParameterDict({"out": L.nn.Parameter(L.tensor(np.zeros(2)))})
                self.register_buffer("offset", L.tensor(np.linspace(0, 1, 6)))

            def forward(self, x):
                x = x * self.scales[0] + self.offset
                for layer in self.layers:
                    x = layer(x)
                return self.heads["b"](self.heads["a"](x * self.scales[1])) + self.shifts["out"]

        return Net()


def loss_cases():
    ce_target = fixed([1, -100, 4, 2, 0, 3])
    weights = lambda L: L.tensor(np.array([0.5, 1.0, 2.0, 1.5, 0.7]))  # noqa: E731
    probs = uniform(0.05, 0.95, 6, 5)
    cases = []
    for reduction in ("none", "mean", "sum"):
        r = {"reduction": reduction}
        cases += [
            Case(f"CrossEntropyLoss-{reduction}", lambda L, r=r: L.nn.CrossEntropyLoss(**r), args(normal(6, 5), randint(5, 6))),
            Case(f"CrossEntropyLoss-weight-ignore-smoothing-{reduction}",
                 lambda L, r=r: L.nn.CrossEntropyLoss(weight=weights(L), label_smoothing=0.2, **r),
                 args(normal(6, 5), ce_target)),
            Case(f"CrossEntropyLoss-probabilities-{reduction}",
                 lambda L, r=r: L.nn.CrossEntropyLoss(weight=weights(L), label_smoothing=0.1, **r),
                 args(normal(6, 5), probs)),
            Case(f"NLLLoss-{reduction}", lambda L, r=r: L.nn.NLLLoss(weight=weights(L), ignore_index=2, **r),
                 args(normal(6, 5), fixed([1, 2, 4, 2, 0, 3]))),
            Case(f"MSELoss-{reduction}", lambda L, r=r: L.nn.MSELoss(**r), args(normal(4, 3), normal(4, 3))),
            Case(f"L1Loss-{reduction}", lambda L, r=r: L.nn.L1Loss(**r), args(normal(4, 3), normal(4, 3))),
            Case(f"SmoothL1Loss-{reduction}", lambda L, r=r: L.nn.SmoothL1Loss(beta=0.5, **r),
                 args(normal(4, 3), normal(4, 3))),
            Case(f"HuberLoss-{reduction}", lambda L, r=r: L.nn.HuberLoss(delta=0.7, **r), args(normal(4, 3), normal(4, 3))),
            Case(f"BCELoss-{reduction}", lambda L, r=r: L.nn.BCELoss(weight=L.tensor(np.array([0.5, 2.0, 1.0])), **r),
                 args(uniform(0.05, 0.95, 4, 3), uniform(0.05, 0.95, 4, 3))),
            Case(f"BCEWithLogitsLoss-{reduction}",
                 lambda L, r=r: L.nn.BCEWithLogitsLoss(weight=L.tensor(np.array([0.5, 2.0, 1.0])),
                                                       pos_weight=L.tensor(np.array([3.0, 0.5, 1.0])), **r),
                 args(normal(4, 3), uniform(0.0, 1.0, 4, 3))),
            Case(f"KLDivLoss-{reduction}", lambda L, r=r: L.nn.KLDivLoss(**r), args(normal(4, 3), uniform(0.05, 1.0, 4, 3))),
            Case(f"CosineEmbeddingLoss-{reduction}", lambda L, r=r: L.nn.CosineEmbeddingLoss(margin=-0.3, **r),
                 args(normal(5, 3), normal(5, 3), fixed([1, -1, 1, -1, -1]))),
            Case(f"MarginRankingLoss-{reduction}", lambda L, r=r: L.nn.MarginRankingLoss(margin=0.2, **r),
                 args(normal(5), normal(5), fixed([1.0, -1.0, 1.0, -1.0, 1.0]))),
        ]
    cases += [
        Case("CrossEntropyLoss-K-dim", lambda L: L.nn.CrossEntropyLoss(label_smoothing=0.3),
             args(normal(2, 5, 3, 2), randint(5, 2, 3, 2))),
        Case("KLDivLoss-batchmean-log-target", lambda L: L.nn.KLDivLoss(reduction="batchmean", log_target=True),
             args(normal(4, 3), uniform(-3.0, 0.0, 4, 3))),
        Case("BCEWithLogitsLoss-plain", lambda L: L.nn.BCEWithLogitsLoss(), args(normal(4, 3), uniform(0.0, 1.0, 4, 3))),
    ]
    return cases


CASES = module_cases() + [Case("Model-with-containers", Model.build, args(normal(3, 6)))] + loss_cases()


def to_inputs(arrays, lib):
    """Tensors of ``lib`` for the NumPy inputs: floats as float64 leaves requiring grad."""
    out = []
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.kind == "f":
            t = torch.tensor(a, dtype=torch.float64, requires_grad=True) if lib is TORCH else \
                heron.tensor(a, dtype=heron.float64, requires_grad=True)
        else:
            t = torch.tensor(a, dtype=torch.int64) if lib is TORCH else heron.tensor(a, dtype=heron.int64)
        out.append(t)
    return out


def as_numpy(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else t.detach().numpy()


def assert_close(actual, expected, what):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} vs torch {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def build_pair(case):
    """The torch and heron modules of ``case`` in float64, heron's holding torch's weights."""
    t_mod = case.build(TORCH).double()
    h_mod = case.build(HERON).double()
    t_state, h_state = t_mod.state_dict(), h_mod.state_dict()
    assert list(h_state) == list(t_state), "state_dict keys differ from torch's"
    for key, value in t_state.items():
        assert tuple(h_state[key].shape) == tuple(value.shape), f"state_dict[{key!r}] shape"
        assert h_state[key].dtype.is_floating_point == value.is_floating_point(), f"state_dict[{key!r}] dtype kind"
    h_mod.load_state_dict({k: heron.tensor(v.numpy()) for k, v in t_state.items()})
    return t_mod, h_mod


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_module_matches_torch(case):
    rng = np.random.default_rng(zlib.crc32(case.id.encode()))
    t_mod, h_mod = build_pair(case)
    assert repr(h_mod).replace("heron.", "torch.") == repr(t_mod)
    for mode in case.modes:
        t_mod.train(mode == "train")
        h_mod.train(mode == "train")
        for call in range(case.calls):
            arrays = case.inputs(rng)
            t_in, h_in = to_inputs(arrays, TORCH), to_inputs(arrays, HERON)
            t_out, h_out = t_mod(*t_in, **case.kwargs), h_mod(*h_in, **case.kwargs)
            what = f"{case.id} {mode} call {call}"
            assert_close(as_numpy(h_out), as_numpy(t_out), f"{what}: output")
            if case.check_grads and t_out.requires_grad:
                cotangent = rng.standard_normal(tuple(t_out.shape))
                t_out.backward(torch.tensor(cotangent))
                h_out.backward(heron.tensor(cotangent))
                for i, (t, h) in enumerate(zip(t_in, h_in)):
                    if t.grad is not None or h.grad is not None:
                        assert_close(as_numpy(h.grad), as_numpy(t.grad), f"{what}: grad of input {i}")
                t_params = dict(t_mod.named_parameters())
                for name, h_param in h_mod.named_parameters():
                    t_grad = t_params[name].grad
                    expected = np.zeros(tuple(h_param.shape)) if t_grad is None else t_grad.numpy()
                    actual = np.zeros(tuple(h_param.shape)) if h_param.grad is None else h_param.grad.numpy()
                    assert_close(actual, expected, f"{what}: grad of {name}")
                t_mod.zero_grad()
                h_mod.zero_grad()
            t_buffers = dict(t_mod.named_buffers())
            for name, h_buf in h_mod.named_buffers():
                assert_close(h_buf.numpy(), t_buffers[name].numpy(), f"{what}: buffer {name}")


REPR_ONLY = {
    "inplace activations": lambda nn: nn.Sequential(nn.ReLU(True), nn.ReLU6(True), nn.LeakyReLU(inplace=True),
                                                    nn.ELU(inplace=True), nn.CELU(2.0, True), nn.SELU(True),
                                                    nn.SiLU(True), nn.Mish(True), nn.Hardtanh(inplace=True),
                                                    nn.Hardsigmoid(True), nn.Hardswish(True), nn.Dropout(0.2, True)),
    "defaults": lambda nn: nn.Sequential(nn.Softmax(), nn.Softmin(), nn.LogSoftmax(), nn.Embedding(5, 2, norm_type=3.0),
                                         nn.EmbeddingBag(5, 2, norm_type=1.0, padding_idx=0), nn.RMSNorm(4, 1e-3, False),
                                         nn.BatchNorm1d(3, bias=False)),
    "losses": lambda nn: nn.ModuleList([nn.CrossEntropyLoss(label_smoothing=0.1), nn.NLLLoss(), nn.MSELoss(), nn.L1Loss(),
                                        nn.SmoothL1Loss(), nn.HuberLoss(), nn.BCELoss(), nn.BCEWithLogitsLoss(),
                                        nn.KLDivLoss(), nn.CosineEmbeddingLoss(), nn.MarginRankingLoss(),
                                        nn.CosineSimilarity()]),
    "convolutions": lambda nn: nn.Sequential(nn.Conv1d(4, 6, 3), nn.Conv2d(3, 8, (3, 1), 2, 1, bias=False),
                                             nn.Conv2d(4, 4, 3, padding="same", dilation=2, groups=2,
                                                       padding_mode="reflect"),
                                             nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1),
                                             nn.ConvTranspose2d(4, 8, (3, 2), 2, 1, 1, groups=4, bias=False,
                                                                dilation=(2, 1))),
    "cnn layer defaults": lambda nn: nn.Sequential(
        nn.MaxPool2d(3, return_indices=True), nn.MaxPool1d(2, 1, 1, 2, True, True), nn.AvgPool1d(3), nn.AvgPool2d((2, 3)),
        nn.AvgPool3d(2, 1, 1, True, False, 4), nn.LPPool2d(2, (2, 3)), nn.AdaptiveMaxPool2d((2, None), True),
        nn.AdaptiveAvgPool3d(3), nn.MaxUnpool2d((2, 3), 1), nn.MaxUnpool1d(2), nn.ZeroPad2d(2), nn.ConstantPad3d(1, 0.5),
        nn.ReflectionPad1d(2), nn.ReplicationPad2d((1, 2, 3, 4)), nn.CircularPad3d(1), nn.PixelShuffle(3),
        nn.PixelUnshuffle(2), nn.Upsample(scale_factor=2), nn.Upsample(size=(3, 4), mode="bilinear", align_corners=True),
        nn.UpsamplingNearest2d(size=4), nn.UpsamplingBilinear2d(scale_factor=3), nn.BatchNorm2d(3, bias=False),
        nn.BatchNorm3d(4, track_running_stats=False), nn.InstanceNorm1d(3), nn.InstanceNorm2d(4, affine=True),
        nn.InstanceNorm3d(2, track_running_stats=True), nn.GroupNorm(2, 4, bias=False), nn.LocalResponseNorm(2),
        nn.Dropout1d(), nn.Dropout2d(0.1, True), nn.Dropout3d(), nn.AlphaDropout(0.2), nn.FeatureAlphaDropout()),
    "nested containers": lambda nn: nn.ModuleDict({"blocks": nn.ModuleList([nn.Sequential(nn.Linear(2, 2), nn.ReLU())
                                                                            for _ in range(3)] + [nn.Identity()]),
                                                   "empty": nn.Sequential(), "list": nn.ModuleList()}),
}


@pytest.mark.parametrize("name", sorted(REPR_ONLY))
def test_repr_matches_torch(name):
    assert repr(REPR_ONLY[name](heron.nn)) == repr(REPR_ONLY[name](torch.nn))


def test_heron_state_dict_loads_into_torch():
    h_model = Model.build(HERON).double()
    t_model = Model.build(TORCH).double()
    result = t_model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in h_model.state_dict().items()})
    assert not result.missing_keys and not result.unexpected_keys
    x = np.random.default_rng(0).standard_normal((2, 6))
    assert_close(h_model(heron.tensor(x)).detach().numpy(), t_model(torch.tensor(x)).detach().numpy(), "output")


def test_load_state_dict_errors_match_torch():
    t_mod, h_mod = torch.nn.Linear(3, 2), heron.nn.Linear(3, 2)
    bad = {"weight": np.zeros((3, 3)), "bias": np.zeros(2), "extra": np.zeros(1)}
    with pytest.raises(RuntimeError) as t_info:
        t_mod.load_state_dict({k: torch.tensor(v) for k, v in bad.items()})
    with pytest.raises(RuntimeError) as h_info:
        h_mod.load_state_dict({k: heron.tensor(v) for k, v in bad.items()})
    assert str(h_info.value).replace("heron.", "torch.") == str(t_info.value)
    t_result = t_mod.load_state_dict({"weight": torch.zeros(2, 3)}, strict=False)
    h_result = h_mod.load_state_dict({"weight": heron.zeros(2, 3)}, strict=False)
    assert tuple(h_result) == tuple(t_result) and repr(h_result) == repr(t_result)


def test_default_initialisation_ranges_match_torch():
    """Same distributions as torch's defaults (values differ: the generators differ)."""
    for build in (lambda nn: nn.Linear(50, 400), lambda nn: nn.Bilinear(30, 5, 400), lambda nn: nn.Embedding(200, 8),
                  lambda nn: nn.Conv2d(16, 64, 3), lambda nn: nn.ConvTranspose1d(8, 32, 5, groups=2)):
        heron.manual_seed(0)
        torch.manual_seed(0)
        h_params, t_params = dict(build(heron.nn).named_parameters()), dict(build(torch.nn).named_parameters())
        assert list(h_params) == list(t_params)
        for name, t_param in t_params.items():
            h, t = h_params[name].detach().numpy(), t_param.detach().numpy()
            spread = max(t.std(), 1e-3)
            assert abs(h.std() - t.std()) < 0.2 * spread and abs(h.mean() - t.mean()) < 0.2 * spread + 0.05, name
            assert np.abs(h).max() <= np.abs(t).max() * 1.5 + 1e-6, name


@pytest.mark.parametrize("name", sorted(heron.nn.__all__))
def test_public_names_exist_in_torch_nn(name):
    """Every public name of heron.nn is a torch.nn name (and of the same kind)."""
    assert hasattr(torch.nn, name)
    if isinstance(getattr(heron.nn, name), type):
        assert isinstance(getattr(torch.nn, name), type)
