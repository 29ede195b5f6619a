"""heron.nn: neural-network building blocks with torch.nn's names, arguments, defaults,
state_dict keys and printing: Module and its containers, layers, activations, losses,
MultiheadAttention and the Transformer modules, ``heron.nn.functional``, ``heron.nn.init`` and
``heron.nn.utils``. ``heron.nn.positional`` adds rotary and sinusoidal position encodings (no
torch.nn counterpart, so they stay out of ``__all__``, which lists torch.nn names only)."""
from . import functional  # noqa: F401
from . import init  # noqa: F401
from . import positional  # noqa: F401
from . import utils  # noqa: F401
from .modules.activation import (CELU, ELU, GELU, GLU, SELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSoftmax,
                                 Mish, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softmin, Softplus, Tanh)
from .modules.batchnorm import BatchNorm1d
from .modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .modules.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .modules.distance import CosineSimilarity
from .modules.dropout import Dropout
from .modules.flatten import Flatten, Unflatten
from .modules.linear import Bilinear, Identity, Linear
from .modules.loss import (BCELoss, BCEWithLogitsLoss, CosineEmbeddingLoss, CrossEntropyLoss, HuberLoss, KLDivLoss,
                           L1Loss, MarginRankingLoss, MSELoss, NLLLoss, SmoothL1Loss)
from .modules.module import Module
from .modules.normalization import LayerNorm, RMSNorm
from .modules.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from .modules.sparse import Embedding, EmbeddingBag
from .modules.transformer import (MultiheadAttention, Transformer, TransformerDecoder, TransformerDecoderLayer,
                                 TransformerEncoder, TransformerEncoderLayer)
from .parameter import Parameter

__all__ = [
    "Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict", "Identity",
    "Flatten", "Unflatten", "Linear", "Bilinear", "Embedding", "EmbeddingBag", "Dropout", "LayerNorm", "RMSNorm",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "BatchNorm1d", "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "CELU", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid",
    "Hardtanh", "Hardsigmoid", "Hardswish", "Softplus", "Softmax", "LogSoftmax", "Softmin", "GLU", "CosineSimilarity",
    "L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "NLLLoss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss",
    "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss", "MultiheadAttention", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer", "RNNBase", "RNN", "LSTM", "GRU",
    "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "functional", "init", "utils",
]
