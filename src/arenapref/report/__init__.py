"""``arenapref report RUN_DIR``: one self-contained HTML page of a pipeline run."""

from __future__ import annotations

from arenapref.report.html import SECTIONS, render_report, write_report

__all__ = ["SECTIONS", "render_report", "write_report"]
