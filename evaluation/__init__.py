"""The evaluation core: benchmarks, sandboxed execution, generation and metrics.

Everything importable from here works without Django; the Django app that stores runs lives in
this package too (`models.py`, `services.py`, `tasks.py`) but nothing in the core imports it.
"""
