"""One palette for every chart and badge: a status or reason has one colour everywhere.

Colours are from Okabe and Ito's set, which stays distinguishable for the common forms of
colour blindness; and colour is never the only signal: each also has a label and, on bars,
a fill pattern.
"""

# name -> (colour, pattern shape for plotly bars; "" for a plain fill)
STATUS = {
    "completed": ("#009E73", ""),
    "in_progress": ("#0072B2", ""),
    "failed": ("#D55E00", "x"),
    "stuck": ("#E69F00", "/"),
}
RISK_REASON = {
    "failed": ("#D55E00", "x"),
    "stuck": ("#E69F00", "/"),
    "overdue": ("#CC79A7", "."),
    "leakage": ("#56B4E9", "-"),
}
# Lines that are not a status: objectives, percentiles, neutral series.
OBJECTIVE = "#555555"
SERIES = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
PERCENTILE = {"p50": "#0072B2", "p95": "#D55E00"}
HEAT = [[0.0, "#F7FBFF"], [0.5, "#6BAED6"], [1.0, "#08306B"]]


def status_colour(status: str) -> str:
    return STATUS.get(status, ("#777777", ""))[0]


def reason_style(reason: str) -> tuple[str, str]:
    return RISK_REASON.get(reason, ("#777777", ""))
