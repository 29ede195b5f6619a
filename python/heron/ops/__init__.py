"""heron's functional ops. Everything public here is re-exported as heron.<name>."""
from .creation import *  # noqa: F401,F403
from .creation import (Generator, arange, as_tensor, bernoulli, default_generator, empty, empty_like, eye,
                       from_dlpack, from_numpy, full, full_like, get_rng_state, initial_seed, linspace, logspace,
                       manual_seed, multinomial, normal, ones, ones_like, rand, rand_like, randint, randint_like,
                       randn, randn_like, randperm, scalar_tensor, seed, set_rng_state, tensor, zeros, zeros_like)
from .elementwise import *  # noqa: F401,F403
from .indexing import (argsort, argwhere, gather, index_add, index_put, index_select, kthvalue, masked_fill,
                       masked_scatter, masked_select, msort, nonzero, scatter, scatter_add, scatter_reduce, sort,
                       take, take_along_dim, topk)
from .linalg import (_addmm_activation, addbmm, addmm, addmv, baddbmm, bmm, dot, einsum, ger, inner, matmul, mm, mv,  # noqa: F401
                     outer, tensordot, vdot)
from .reduce import (all, amax, amin, any, argmax, argmin, count_nonzero, cumprod, cumsum, log_softmax, logsumexp,
                     max, mean, min, nanmean, nansum, norm, prod, softmax, std, std_mean, sum, var, var_mean)
from .shape import (adjoint, as_strided, atleast_1d, atleast_2d, broadcast_shapes, broadcast_tensors, broadcast_to,
                    cat, chunk, clone, concat, concatenate, contiguous, diagonal, flatten, flip, fliplr, flipud,
                    hstack, movedim, moveaxis, narrow, permute, ravel, repeat_interleave, reshape, roll, select,
                    split, squeeze, stack, swapaxes, swapdims, t, tensor_split, tile, transpose, tril, triu, unbind,
                    unflatten, unsqueeze, vstack)
