"""Inspecting a model without training it: tracing its layer calls and the operations between them (``trace``,
with the rules of ``shape_rules`` for layers and ``ops`` for functions), counting parameters and
multiply-accumulates (``counting``), and ``paddle.summary``-style summaries with per-stage views (``summary``).
Works on any ``paddle.nn.Layer``.

(A package re-exports no name that equals one of its modules, such as ``trace``: it would hide the module.
Names are imported when first used, see ``paddle_resnet._lazy``.)"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    ".counting": ["ParamCount", "count_macs", "count_params"],
    ".summary": ["Summary", "summarize"],
    ".trace": ["LayerCall", "TraceError", "UnsupportedLayer"],
})

__all__ = ["LayerCall", "ParamCount", "Summary", "TraceError", "UnsupportedLayer", "count_macs", "count_params",
           "summarize"]
