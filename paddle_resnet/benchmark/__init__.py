"""The benchmark behind ``python -m paddle_resnet benchmark``: the machine (``machine``), the measurements of
every way of running a model (``measure``), and the report (``report``)."""

from .machine import machine_info
from .measure import measure_paths, run_benchmark, time_paths, time_tools
from .report import format_report

__all__ = ["format_report", "machine_info", "measure_paths", "run_benchmark", "time_paths", "time_tools"]
