"""heron.nn: neural-network building blocks. Modules arrive with the training toolkit (issue #4);
``heron.nn.functional`` already offers the activations and softmax."""
from . import functional  # noqa: F401
from . import utils  # noqa: F401
