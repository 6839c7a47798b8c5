"""What ``ocrflow eval`` shows beyond its JSON: a self-contained HTML report and the comparison of two runs.

``charts`` (matplotlib, Agg, imported when a chart is drawn), ``crops`` (the page region of a miss, cut from
the page the project's renderer draws), ``html`` (the Jinja2 report, autoescaped), ``compare`` (two saved
``eval --json`` outputs side by side) and ``text`` (the terminal tables of one run and of a comparison).
"""
