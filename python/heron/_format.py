"""torch-style printing of tensors."""
from __future__ import annotations

import numpy as np

_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    if profile == "default":
        _OPTIONS.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        _OPTIONS.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        _OPTIONS.update(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            _OPTIONS[key] = value
    _OPTIONS["sci_mode"] = sci_mode


def _float_formatter(values: np.ndarray):
    finite = values[np.isfinite(values)]
    prec = _OPTIONS["precision"]
    if finite.size == 0:
        return lambda v: _special(v)
    absf = np.abs(finite)
    integral = np.all(finite == np.round(finite))
    nonzero = absf[absf > 0]
    sci = _OPTIONS["sci_mode"]
    if sci is None:
        sci = nonzero.size > 0 and (nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8 or nonzero.min() < 1e-4)
    if integral and not sci:
        width = max(len(f"{v:.0f}") for v in finite) + 1
        return lambda v: _special(v) or f"{v:.0f}.".rjust(width)
    if sci:
        return lambda v: _special(v) or f"{v:.{prec}e}"
    width = max(len(f"{v:.{prec}f}") for v in finite)
    return lambda v: _special(v) or f"{v:.{prec}f}".rjust(width)


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def format_tensor(t) -> str:
    from ._dtype import float32, int64, bool_

    dtype = t.dtype
    arr = np.asarray(t.float() if dtype._name == "bfloat16" else t.detach())
    if dtype.is_floating_point:
        fmt = _float_formatter(arr.astype(np.float64).ravel())
        width = max((len(fmt(v)) for v in arr.astype(np.float64).ravel()), default=0)
        formatter = {"float_kind": lambda v: fmt(v).rjust(width)}
    elif dtype is bool_:
        formatter = {"bool": lambda v: "True" if v else "False"}
    else:
        formatter = None
    if arr.ndim == 0:
        body = formatter["float_kind"](arr.item()).strip() if formatter and "float_kind" in formatter else str(arr.item())
    elif arr.size == 0:
        body = "[]" if arr.ndim == 1 else "[]"
    else:
        body = np.array2string(arr, separator=", ", prefix="tensor(", formatter=formatter,
                               threshold=_OPTIONS["threshold"], edgeitems=_OPTIONS["edgeitems"],
                               max_line_width=_OPTIONS["linewidth"])
    suffix = []
    if arr.size == 0 and arr.ndim != 1:
        suffix.append(f"size={tuple(arr.shape)}")
    default = float32 if dtype.is_floating_point else (int64 if dtype is not bool_ else bool_)
    from . import get_default_dtype

    if dtype.is_floating_point:
        default = get_default_dtype()
    if dtype is not default:
        suffix.append(f"dtype=heron.{dtype._name}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
