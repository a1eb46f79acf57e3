"""The global filter bar: period and dimensions, read from the URL by every dashboard page.

Its state lives only in the query string, so a view is bookmarked or shared by its URL;
links that drill down carry it along (``scope.query``).
"""

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.core.cache import cache
from django.utils.functional import SimpleLazyObject

from tracking.models import Flow, Journey

from .models import PendingRollup, Rollup, SavedView
from .queries import FILTERS

PERIODS = {
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
}
DEFAULT_PERIOD = "30d"
CHOICES_TTL = 300  # seconds: new regions or units show up in the menus within five minutes


class FilterBarForm(forms.Form):
    window = forms.ChoiceField(choices=PERIODS.items(), required=False, label="Period")
    journey = forms.CharField(required=False, max_length=100)
    flow = forms.CharField(required=False, max_length=100)
    region = forms.CharField(required=False, max_length=100)
    business_unit = forms.CharField(required=False, max_length=100, label="Business unit")
    legal_entity = forms.CharField(required=False, max_length=100, label="Legal entity")


@dataclass
class Scope:
    """What the filter bar asks for: a period and the dimension filters that are set."""

    window: str = DEFAULT_PERIOD
    filters: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def params(self) -> dict[str, str]:
        return {"window": self.window, **self.filters}

    @property
    def query(self) -> str:
        """The scope as a query string, to carry into links that drill down."""
        return urlencode(self.params)

    def link(self, path: str, **extra: object) -> str:
        params = {**self.filters, **{k: v for k, v in extra.items() if v not in (None, "")}}
        return f"{path}?{urlencode(params, doseq=True)}" if params else path

    @property
    def period_label(self) -> str:
        return PERIODS[self.window]


def scope_of(request) -> Scope:
    form = FilterBarForm(request.GET)
    if not form.is_valid():
        clean = {
            name: value
            for name, value in request.GET.items()
            if name in FILTERS and name not in form.errors and value
        }
        return Scope(filters=clean, errors=dict(form.errors))
    data = form.cleaned_data
    return Scope(
        window=data["window"] or DEFAULT_PERIOD,
        filters={name: data[name] for name in FILTERS if data.get(name)},
    )


def choices() -> dict[str, list[str]]:
    """The values each menu offers; dimension values are read from the ledger, cached."""

    def load() -> dict[str, list[str]]:
        values = {
            "journey": list(Journey.objects.order_by("slug").values_list("slug", flat=True)),
            "flow": list(Flow.objects.order_by("slug").values_list("slug", flat=True)),
        }
        # Day rollups of "started" name every value that had transactions, from far fewer
        # rows than the ledger.
        # So do the differences not yet folded into them (new values among them).
        for name in ("region", "business_unit", "legal_entity"):
            found: set[str] = set()
            for rows in (
                Rollup.objects.filter(grain=86400, measure="started"),
                PendingRollup.objects.filter(measure="started", count__gt=0),
            ):
                named = rows.exclude(**{name: ""}).values_list(name, flat=True)
                found.update(named.distinct().order_by()[:200])
            values[name] = sorted(found)[:200]
        return values

    return cache.get_or_set("filterbar:choices", load, CHOICES_TTL)


BAR_FIELDS = (
    ("journey", "Journey"),
    ("flow", "Flow"),
    ("region", "Region"),
    ("business_unit", "Business unit"),
    ("legal_entity", "Legal entity"),
)


def context(request) -> dict:
    """Template context processor: the filter bar's fixed menus, and the user's saved views
    (read only when a page shows them)."""
    user = getattr(request, "user", None)

    def saved() -> list:
        if not getattr(user, "is_authenticated", False):
            return []
        return list(SavedView.objects.filter(user=user))

    return {
        "bar_periods": PERIODS,
        "bar_fields": BAR_FIELDS,
        "saved_views": SimpleLazyObject(saved),
    }
