"""Figures sent inside <script type="application/json">: no text in them can end the element."""

import json

from dashboards.charts import figures

HOSTILE = 'EMEA</script><script>alert("x")</script> & <!--'


def test_text_from_the_ledger_cannot_close_the_script_element():
    chart = figures.sla_trend([{"t": "2026-11-23T00:00:00+00:00", "value": 0.5}], 0.9, HOSTILE)
    assert "<" not in chart.json and ">" not in chart.json and "&" not in chart.json
    # The browser's JSON.parse reads the escapes back to the very text.
    assert json.loads(chart.json)["layout"]["title"]["text"] == f"SLA adherence: {HOSTILE}"
