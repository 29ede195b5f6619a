"""The backward pass: an iterative walk of the graph in dependency order.

No recursion anywhere (a 100,000-op chain backpropagates), gradients for a node's outputs are
summed in a buffer before the node runs, and saved tensors are released as nodes finish unless
retain_graph=True.
"""
from __future__ import annotations

from . import grad_mode
from .function import AccumulateGrad, BackwardNode


def _dependencies(roots, needed=None):
    """Counts, for every node reachable from ``roots``, how many edges point at it."""
    deps = {}
    # Each node once, although several roots may be outputs of one node (pieces of a split):
    # walking it twice would count its edges twice and its inputs would never become ready.
    stack = list(dict.fromkeys(n for n in roots if n is not None))
    seen = set(stack)
    while stack:
        node = stack.pop()
        for nxt, _ in node.next_functions:
            if nxt is None:
                continue
            deps[nxt] = deps.get(nxt, 0) + 1
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return deps, seen


def _nodes_leading_to(targets, reachable):
    """Nodes from which some target can be reached (only those need to run for autograd.grad)."""
    parents = {}
    for node in reachable:
        for nxt, _ in node.next_functions:
            if nxt is not None:
                parents.setdefault(nxt, []).append(node)
    keep = set(targets)
    stack = list(targets)
    while stack:
        node = stack.pop()
        for p in parents.get(node, ()):
            if p not in keep:
                keep.add(p)
                stack.append(p)
    return keep


def run_backward(roots, root_grads, retain_graph, create_graph, capture=None, allow_unused=False):
    """Propagates ``root_grads`` from ``roots`` (list of (node, output_nr)).

    With ``capture`` (a list of (node, output_nr)), gradients arriving there are returned instead
    of being accumulated into leaves, and only the part of the graph that leads to them runs.
    """
    from .._tensor import Tensor

    buffers = {}
    for (node, nr), g in zip(roots, root_grads):
        if node is None:
            continue
        buf = buffers.setdefault(node, [None] * node._num_outputs)
        buf[nr] = g if buf[nr] is None else buf[nr] + g
    root_nodes = [n for n, _ in roots if n is not None]
    deps, reachable = _dependencies(root_nodes)

    captured = None
    keep = None
    if capture is not None:
        captured = [None] * len(capture)
        where = {}
        for i, (node, nr) in enumerate(capture):
            if node is not None:
                where.setdefault(node, []).append((i, nr))
        keep = _nodes_leading_to([n for n, _ in capture if n is not None and n in reachable], reachable)

    ready = [n for n in dict.fromkeys(root_nodes) if deps.get(n, 0) == 0]
    prev_mode = grad_mode._set(create_graph)
    try:
        while ready:
            node = ready.pop()
            grads = buffers.pop(node, None) or [None] * node._num_outputs
            if captured is not None and node in where:
                for i, nr in where[node]:
                    g = grads[nr]
                    captured[i] = g
            if keep is not None and node not in keep:
                _release_edges(node, deps, ready)
                continue
            if node._pre_hooks:
                for nr, hooks in node._pre_hooks.items():
                    for hook in list(hooks):
                        if grads[nr] is not None:
                            new = hook(grads[nr])
                            if new is not None:
                                grads[nr] = new
            if capture is not None and isinstance(node, AccumulateGrad):
                out = ()
            else:
                if isinstance(node, BackwardNode) and node._saved is None:
                    node.saved_tensors  # raises the "backward through the graph a second time" error
                if all(g is None for g in grads) and not isinstance(node, AccumulateGrad):
                    out = (None,) * len(node.next_functions)
                else:
                    out = node.apply(grads)
                if node._hooks:
                    for hook in node._hooks:
                        hook(out, tuple(grads))
            if not retain_graph and isinstance(node, BackwardNode):
                node.release()
            nexts = node.next_functions
            if len(out) < len(nexts) and any(n is not None for n, _ in nexts[len(out):]):
                raise RuntimeError(
                    f"function {node.name()} returned an incorrect number of gradients (expected {len(nexts)}, got {len(out)})"
                )
            for (nxt, nr), g in zip(nexts, out):
                if nxt is None:
                    continue
                if g is not None:
                    if not isinstance(g, Tensor):
                        raise TypeError(f"function {node.name()} returned a gradient of type {type(g).__name__}, expected a Tensor or None")
                    buf = buffers.setdefault(nxt, [None] * nxt._num_outputs)
                    buf[nr] = g if buf[nr] is None else buf[nr] + g
                deps[nxt] -= 1
                if deps[nxt] == 0:
                    ready.append(nxt)
            for (nxt, _) in nexts[len(out):]:
                if nxt is not None:
                    deps[nxt] -= 1
                    if deps[nxt] == 0:
                        ready.append(nxt)
    finally:
        grad_mode._set(prev_mode)
    return captured


def _release_edges(node, deps, ready):
    for nxt, _ in node.next_functions:
        if nxt is None:
            continue
        deps[nxt] -= 1
        if deps[nxt] == 0:
            ready.append(nxt)
