"""Reports: merge results files from many devices into one self-contained HTML page, with
Markdown/CSV tables and PNG/SVG figures beside it, and compare two results files.

Reporting never measures: this package reads results (suite.results) and statistics
(suite.stats) only. Heavy imports (matplotlib, jinja2) happen inside the functions.

    from suite.report.html import render_report          # results -> files
    from suite.report.build import build_report_from_paths  # paths on disk -> files (+ bad files)
    from suite.report.compare import compare_files, compare_runs
"""
