"""The evaluation core: benchmarks, sandboxed execution, generation and metrics.

A plain library and command line (`python -m evaluation`) that imports no Django, Celery or kombu:
the site that stores runs (`leaderboard/runs/`) builds on it, never the other way round.
"""
