"""Comparing runs and groups of runs: load them from MLflow (loading.py), decide which test
applies and run it (decide.py, pure), write the table (report.py), log it on request (record.py).

`compare_values` (decide.py) is the entry for code that already holds per-member values, such
as tuning comparing its best trial with the runner-up.
"""
