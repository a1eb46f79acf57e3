"""Prometheus metrics (docs/scaling.md, "Monitoring with Prometheus").

Nothing here imports prometheus_client at import time: this package is imported by
c2c_ops/celery.py, which every process runs before the settings that choose the
multiprocess directory, and prometheus_client picks its mode once, when first imported.
"""
