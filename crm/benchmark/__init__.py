"""The before/after benchmark behind ``manage.py benchmark`` (issue 6).

``seed`` builds deterministic datasets, ``before`` holds faithful copies of
the original's algorithms (benchmark only: product code never imports it),
``jobs`` times each job's before path, our path and a hand-written SQL
floor side by side, ``explain`` checks the query plans use our indexes, and
``report`` prints the table and writes the JSON and the plot.
"""
