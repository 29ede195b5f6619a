"""Layer behaviour that the torch-conformance suite does not pin down: initialisation
ranges, padding rows, dropout's random stream, BatchNorm's running statistics, options heron
refuses, and errors."""
from __future__ import annotations

import math

import numpy as np
import pytest

import heron
from heron import nn
from heron.nn import functional as F


# ---------------------------------------------------------------------------- Linear, Bilinear
def test_linear_default_init_bounds_and_shapes():
    heron.manual_seed(0)
    lin = nn.Linear(64, 300)
    bound = 1 / math.sqrt(64)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.shape == (300, 64) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound) has std bound / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=heron.float64).weight.dtype is heron.float64


def test_linear_forward_matches_matmul():
    lin = nn.Linear(3, 2)
    x = heron.randn(4, 3)
    expected = x.numpy() @ lin.weight.detach().numpy().T + lin.bias.detach().numpy()
    assert np.allclose(lin(x).detach().numpy(), expected, atol=1e-6)
    assert lin(heron.randn(2, 5, 3)).shape == (2, 5, 2)


def test_bilinear_init_and_errors():
    bil = nn.Bilinear(4, 3, 2)
    assert bil.weight.shape == (2, 4, 3) and np.abs(bil.weight.detach().numpy()).max() <= 0.5
    assert bil(heron.randn(5, 4), heron.randn(5, 3)).shape == (5, 2)
    with pytest.raises(ValueError, match="in1_features must be > 0"):
        nn.Bilinear(0, 3, 2)


# ---------------------------------------------------------------------------- Embedding
def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(6, 3, padding_idx=-1)
    assert emb.padding_idx == 5 and not emb.weight[5].any()
    out = emb(heron.tensor([[5, 1, 5], [2, 1, 0]]))
    assert out.shape == (2, 3, 3)
    out.sum().backward()
    grad = emb.weight.grad.numpy()
    assert not grad[5].any() and grad[1].tolist() == [2.0, 2.0, 2.0] and grad[3].tolist() == [0.0, 0.0, 0.0]


def test_embedding_from_pretrained_shares_and_freezes():
    table = heron.randn(4, 2)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.num_embeddings == 4 and emb.embedding_dim == 2
    assert heron.equal(emb(heron.tensor([3])), table[3:4])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(heron.zeros(3))
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(3, 2, _weight=heron.zeros(2, 2))


@pytest.mark.parametrize("option", [{"max_norm": 1.0}, {"scale_grad_by_freq": True}, {"sparse": True}])
def test_embedding_options_heron_lacks_raise_naming_them(option):
    name = next(iter(option))
    with pytest.raises(NotImplementedError, match=name):
        nn.Embedding(4, 2, **option)
    with pytest.raises(NotImplementedError, match=name):
        F.embedding(heron.tensor([1]), heron.zeros(4, 2), **option)
    with pytest.raises(NotImplementedError, match=name):
        nn.EmbeddingBag(4, 2, **option)


def test_embedding_padding_idx_out_of_range():
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
        nn.EmbeddingBag(4, 2, padding_idx=-5)


def test_embedding_bag_modes():
    bag = nn.EmbeddingBag(5, 2, mode="sum")
    out = bag(heron.tensor([0, 1, 2, 3]), heron.tensor([0, 1]))
    w = bag.weight.detach().numpy()
    assert np.allclose(out.detach().numpy(), [w[0], w[1] + w[2] + w[3]], atol=1e-6)
    with pytest.raises(NotImplementedError, match="mode='max'"):
        nn.EmbeddingBag(5, 2, mode="max")
    with pytest.raises(ValueError, match="mode has to be one of sum, mean or max"):
        nn.EmbeddingBag(5, 2, mode="median")
    frozen = nn.EmbeddingBag.from_pretrained(heron.randn(3, 2), mode="sum")
    assert not frozen.weight.requires_grad and frozen.mode == "sum"


# ---------------------------------------------------------------------------- Dropout
def test_dropout_is_reproducible_with_manual_seed():
    x = heron.ones(1000)
    heron.manual_seed(7)
    first = F.dropout(x, 0.3)
    heron.manual_seed(7)
    second = F.dropout(x, 0.3)
    assert heron.equal(first, second)
    assert not heron.equal(first, F.dropout(x, 0.3))  # the stream moved on


def test_dropout_zeroes_a_fraction_p_and_scales_the_rest():
    heron.manual_seed(1)
    out = nn.Dropout(0.25)(heron.ones(20000)).numpy()
    kept = out != 0
    assert abs(1 - kept.mean() - 0.25) < 0.015
    assert np.allclose(out[kept], 1 / 0.75)


def test_dropout_eval_and_p_zero_return_the_input():
    x = heron.randn(3, 4)
    drop = nn.Dropout(0.5).eval()
    assert drop(x) is x
    assert F.dropout(x, 0.0) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert not F.dropout(x, 1.0).any()


def test_dropout_gradient_uses_the_same_mask():
    x = heron.ones(50, requires_grad=True)
    out = F.dropout(x, 0.5)
    out.sum().backward()
    assert np.array_equal(x.grad.numpy(), out.detach().numpy())


def test_dropout_inplace_and_errors():
    x = heron.ones(100)
    heron.manual_seed(3)
    y = F.dropout(x, 0.5, inplace=True)
    assert y is x and (x.numpy() == 0).any()
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            F.dropout(x, p)


# ---------------------------------------------------------------------------- normalisation
def test_batch_norm_running_statistics_follow_momentum():
    bn = nn.BatchNorm1d(3, momentum=0.2)
    x = heron.randn(8, 3, dtype=heron.float32) * 2 + 1
    bn(x)
    data = x.numpy()
    assert np.allclose(bn.running_mean.numpy(), 0.2 * data.mean(0), atol=1e-6)
    assert np.allclose(bn.running_var.numpy(), 0.8 + 0.2 * data.var(0, ddof=1), atol=1e-5)
    assert bn.num_batches_tracked.item() == 1


def test_batch_norm_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [heron.randn(5, 2) for _ in range(3)]
    for b in batches:
        bn(b)
    means = [b.numpy().mean(0) for b in batches]
    assert np.allclose(bn.running_mean.numpy(), np.mean(means, 0), atol=1e-6)
    assert bn.num_batches_tracked.item() == 3


def test_batch_norm_eval_uses_running_statistics():
    bn = nn.BatchNorm1d(2, affine=False)
    with heron.no_grad():
        bn.running_mean.copy_(heron.tensor([1.0, -1.0]))
        bn.running_var.copy_(heron.tensor([4.0, 0.25]))
    bn.eval()
    out = bn(heron.tensor([[3.0, 0.0]])).numpy()
    assert np.allclose(out, [[2.0 / math.sqrt(4.0 + 1e-5), 1.0 / math.sqrt(0.25 + 1e-5)]])
    assert bn.num_batches_tracked.item() == 0


def test_batch_norm_without_running_stats_uses_batch_statistics_in_eval():
    bn = nn.BatchNorm1d(2, track_running_stats=False).eval()
    assert bn.running_mean is None and list(bn.state_dict()) == ["weight", "bias"]
    out = bn(heron.tensor([[1.0, 2.0], [3.0, 6.0]])).detach().numpy()
    assert np.allclose(out.mean(0), 0.0) and np.allclose(np.abs(out), 1.0, atol=1e-4)


def test_batch_norm_checks_input():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="expected 2D or 3D input \\(got 4D input\\)"):
        bn(heron.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        bn(heron.zeros(1, 3))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        bn(heron.zeros(2, 4))
    assert bn(heron.randn(2, 3, 5)).shape == (2, 3, 5)


def test_batch_norm_loads_a_state_dict_without_num_batches_tracked():
    bn = nn.BatchNorm1d(2)
    sd = bn.state_dict()
    del sd["num_batches_tracked"]
    del sd._metadata  # as read from a file that kept no version metadata
    assert bn.load_state_dict(sd) == ([], [])


def test_layer_norm_and_rms_norm_parameters():
    ln = nn.LayerNorm([2, 3], elementwise_affine=True, bias=False)
    assert ln.normalized_shape == (2, 3) and ln.weight.shape == (2, 3) and ln.bias is None
    assert list(nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    rms = nn.RMSNorm(4)
    assert rms.eps is None and rms.weight.tolist() == [1.0] * 4
    x = heron.randn(3, 4)
    expected = x.numpy() / np.sqrt((x.numpy() ** 2).mean(-1, keepdims=True) + np.finfo(np.float32).eps)
    assert np.allclose(rms(x).detach().numpy(), expected, atol=1e-6)


def test_layer_norm_keeps_half_precision_inputs_in_their_dtype():
    x = heron.randn(4, 8).to(heron.bfloat16)
    out = F.layer_norm(x, (8,))
    assert out.dtype is heron.bfloat16
    assert np.allclose(out.float().numpy(), F.layer_norm(x.float(), (8,)).numpy(), atol=3e-2)


# ---------------------------------------------------------------------------- shape layers and activations
def test_flatten_unflatten():
    x = heron.randn(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Unflatten(1, (3, 1))(x).shape == (2, 3, 1, 4)
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints"):
        nn.Unflatten(1, (3, 1.0))
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found type int"):
        nn.Unflatten(1, 3)


def test_inplace_activations_modify_their_input():
    for module in (nn.ReLU(inplace=True), nn.LeakyReLU(0.1, inplace=True), nn.Hardtanh(inplace=True),
                   nn.ELU(inplace=True), nn.SiLU(inplace=True)):
        x = heron.tensor([-2.0, 0.5, 3.0])
        out = module(x)
        assert out is x, type(module).__name__


def test_activation_argument_errors():
    with pytest.raises(AssertionError, match="max_val \\(1.0\\) must be greater than min_val \\(2.0\\)"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        nn.GELU("exact")(heron.zeros(1))
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        nn.GLU()(heron.zeros(2, 3))
    with pytest.warns(FutureWarning, match="min_value"):
        assert nn.Hardtanh(min_value=-2.0).min_val == -2.0


# ---------------------------------------------------------------------------- loss modules
def test_loss_weights_are_buffers():
    weight = heron.tensor([1.0, 2.0, 3.0])
    ce = nn.CrossEntropyLoss(weight=weight)
    assert list(ce.state_dict()) == ["weight"] and ce.weight is weight
    ce.double()
    assert ce.weight.dtype is heron.float64
    assert list(nn.BCEWithLogitsLoss(pos_weight=weight).state_dict()) == ["pos_weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []


def test_loss_legacy_reduction_arguments():
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"
    with pytest.raises(TypeError, match="delta must be a float or int"):
        nn.HuberLoss(delta="1")
    with pytest.raises(ValueError, match="bad is not a valid value for reduction"):
        nn.MSELoss(reduction="bad")(heron.zeros(2), heron.zeros(2))


def test_regression_losses_warn_on_broadcast_targets():
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(heron.zeros(3, 2), heron.zeros(2))


def test_kl_div_mean_warns_like_torch():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(heron.zeros(2, 2), heron.ones(2, 2))
