"""BatchNorm1d, BatchNorm2d, BatchNorm3d, and _NormBase, the state they share with the
instance-norm layers (as in torch)."""
from __future__ import annotations

import heron

from .. import functional as F
from .. import init
from .module import Module, _register_new_parameter


class _NormBase(Module):
    """Per-channel ``weight``/``bias`` (with ``affine``) and, with ``track_running_stats``, the
    ``running_mean``/``running_var``/``num_batches_tracked`` buffers: torch's parameters,
    buffers and state_dict keys."""

    _version = 2  # torch's layout with num_batches_tracked

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        _register_new_parameter(self, "weight", (num_features,), device, dtype, enabled=affine)
        _register_new_parameter(self, "bias", (num_features,), device, dtype, enabled=affine and bias)
        if track_running_stats:
            self.register_buffer("running_mean", heron.zeros(num_features, device=device, dtype=dtype))
            self.register_buffer("running_var", heron.ones(num_features, device=device, dtype=dtype))
            self.register_buffer("num_batches_tracked", heron.tensor(0, dtype=heron.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input):
        raise NotImplementedError

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # State dicts from before num_batches_tracked existed (no version 2 metadata, e.g. read
        # from safetensors) load with the current count, as in torch.
        version = local_metadata.get("version", None)
        key = prefix + "num_batches_tracked"
        if (version is None or version < 2) and self.track_running_stats and key not in state_dict:
            state_dict[key] = self.num_batches_tracked if self.num_batches_tracked is not None else heron.tensor(0)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


class _BatchNorm(_NormBase):
    """Batch normalisation per channel (dim 1) over the batch and any trailing dims.

    In training it normalises with the batch statistics and, with ``track_running_stats``,
    updates ``running_mean``/``running_var`` (exponential average with ``momentum``, or the
    cumulative average when ``momentum=None``) and counts ``num_batches_tracked``; in eval mode
    it uses the running statistics.
    """

    def forward(self, input):
        self._check_input_dim(input)
        average_factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:  # cumulative moving average
                average_factor = 1.0 / float(self.num_batches_tracked)
        # Batch statistics in training, and in eval when there are no running statistics.
        use_batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch_stats, average_factor, self.eps)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs."""

    def _check_input_dim(self, input):
        if input.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.ndim}D input)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) inputs."""

    def _check_input_dim(self, input):
        if input.ndim != 4:
            raise ValueError(f"expected 4D input (got {input.ndim}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation of (N, C, D, H, W) inputs."""

    def _check_input_dim(self, input):
        if input.ndim != 5:
            raise ValueError(f"expected 5D input (got {input.ndim}D input)")
