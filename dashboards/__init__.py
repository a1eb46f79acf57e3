"""Metrics (rollups, SLA, billing latency, revenue at risk), charts and the HTMX pages."""
