"""Measuring a trained classifier: ``evaluate`` (top-1 / top-5 error, the paper's 10-crop and multi-scale
testing, per-class accuracy, confusion matrix) and ``layer_responses`` (Figure 7 of the ResNet paper).

* ``sources``: the model (a run, an export, a weights file) and the labelled images (an image folder, a CIFAR
  test set);
* ``accuracy``: ``evaluate`` and its reports;
* ``responses``: ``layer_responses`` and its plot.
"""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    ".accuracy": ["Evaluation", "evaluate", "write_reports"],
    ".responses": ["LayerResponse", "layer_responses", "plot_responses"],
    ".sources": ["EvaluationError", "load_model"],
})

__all__ = ["Evaluation", "EvaluationError", "LayerResponse", "evaluate", "layer_responses", "load_model",
           "plot_responses", "write_reports"]
