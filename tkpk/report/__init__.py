"""The briefing pack for the task force's coordination meeting: ``build_report(settings)``."""

from tkpk.report.builder import Report, build_report, write_report
from tkpk.report.charts import CHARTS, ChartSpec, build_charts
from tkpk.report.data import ReportData, load_report_data

__all__ = [
    "CHARTS",
    "ChartSpec",
    "Report",
    "ReportData",
    "build_charts",
    "build_report",
    "load_report_data",
    "write_report",
]
