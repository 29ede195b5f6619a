"""heron.optim: optimizers and learning-rate schedulers with torch.optim's API.

Every optimizer's arithmetic for a parameter group runs through one function per algorithm in
``heron.optim._functional`` (the seam for fused multi-tensor kernels)."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD", "lr_scheduler"]
