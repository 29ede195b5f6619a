"""torch-style printing of tensors: the same algorithm as torch/_tensor_str.py (one formatter
for the whole tensor, integer/fixed/scientific mode chosen from the nonzero finite values,
summarisation with edge items), working on a NumPy copy of the values."""
from __future__ import annotations

import math

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


class _Formatter:
    """Chooses one width and notation for every element, as torch's _Formatter."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        flat = flat.astype(np.float64)
        nonzero = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero.size == 0:
            return
        absv = np.abs(nonzero)
        lo, hi = absv.min(), absv.max()
        self.int_mode = bool(np.all(nonzero == np.ceil(nonzero)))
        sci = _OPTIONS["sci_mode"]
        if sci is None:
            sci = hi / lo > 1000.0 or hi > 1.0e8 or (not self.int_mode and lo < 1.0e-4)
        self.sci_mode = bool(sci)
        prec = _OPTIONS["precision"]
        for v in nonzero.tolist():
            if self.sci_mode:
                s = f"{v:.{prec}e}"
            elif self.int_mode:
                s = f"{v:.0f}."
            else:
                s = f"{v:.{prec}f}"
            self.max_width = max(self.max_width, len(s))

    def format(self, v) -> str:
        if self.floating:
            prec = _OPTIONS["precision"]
            if self.sci_mode:
                s = f"{v:{self.max_width}.{prec}e}"
            elif self.int_mode:
                s = f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
            else:
                s = f"{v:.{prec}f}"
        else:
            s = f"{v}"
        return " " * (self.max_width - len(s)) + s


def _summarized(a: np.ndarray) -> np.ndarray:
    """The values that will be printed (edge items only), for choosing the format."""
    edge = _OPTIONS["edgeitems"]
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:edge], a[-edge:]]) if a.shape[0] > 2 * edge else a
    if not edge:
        return a[tuple(slice(0, 0) for _ in a.shape)]
    rows = list(range(edge)) + list(range(a.shape[0] - edge, a.shape[0])) if a.shape[0] > 2 * edge else range(a.shape[0])
    return np.stack([_summarized(a[i]) for i in rows])


def _vector_str(a, indent, summarize, fmt):
    element_length = fmt.max_width + 2
    per_line = max(1, math.floor((_OPTIONS["linewidth"] - indent) / element_length))
    edge = _OPTIONS["edgeitems"]
    if summarize and not edge:
        data = ["..."]
    elif summarize and a.shape[0] > 2 * edge:
        data = [fmt.format(v) for v in a[:edge].tolist()] + [" ..."] + [fmt.format(v) for v in a[-edge:].tolist()]
    else:
        data = [fmt.format(v) for v in a.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str(a, indent, summarize, fmt):
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector_str(a, indent, summarize, fmt)
    edge = _OPTIONS["edgeitems"]
    if summarize and a.shape[0] > 2 * edge:
        slices = ([_tensor_str(a[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
                  + [_tensor_str(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0] - edge, a.shape[0])])
    else:
        slices = [_tensor_str(a[i], indent + 1, summarize, fmt) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _add_suffixes(text, suffixes, indent):
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > _OPTIONS["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def format_tensor(t) -> str:
    from . import get_default_dtype
    from ._dtype import bool_, int64

    dtype = t.dtype
    values = np.asarray(t.detach().float() if dtype._name == "bfloat16" else t.detach())
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    default_float = get_default_dtype()
    if values.size == 0:
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype is not default_float:
            suffixes.append(f"dtype=heron.{dtype._name}")
        body = "[]"
    else:
        if not _OPTIONS["edgeitems"]:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype not in (default_float, int64, bool_):
            suffixes.append(f"dtype=heron.{dtype._name}")
        summarize = values.size > _OPTIONS["threshold"]
        with np.errstate(all="ignore"):  # extreme ratios overflow harmlessly, as in torch's tensor math
            fmt = _Formatter(_summarized(values) if summarize else values, dtype.is_floating_point)
        body = _tensor_str(values, indent, summarize, fmt)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
