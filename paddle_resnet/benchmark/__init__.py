"""The benchmark behind ``python -m paddle_resnet benchmark``: the machine (``machine``), the measurements of
every way of running a model (``measure``), and the report (``report``)."""

from .._lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {  # imported when first used
    ".machine": ["machine_info"],
    ".measure": ["measure_paths", "run_benchmark", "time_paths", "time_tools"],
    ".report": ["format_report"],
})

__all__ = ["format_report", "machine_info", "measure_paths", "run_benchmark", "time_paths", "time_tools"]
