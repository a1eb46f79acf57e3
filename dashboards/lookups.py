"""``field__any=[...]``: membership in a list passed as one value.

Readers of the rollups name the measures they want, a policy's latency bins among them
(121 of them): as ``__in`` that is one placeholder per name, each prepared by Django and
bound by the driver, and a few milliseconds a page. On PostgreSQL the list travels as one
array (``= ANY(%s)``), which the planner treats exactly as the ``IN`` list.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import Lookup


class AnyOf(Lookup):
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self):
        # A list of values only: a string would pass as its letters, an expression or a
        # queryset would be iterated into text.
        if self.rhs is None or isinstance(self.rhs, str | bytes):
            raise TypeError(f"__any takes a list of values, not {type(self.rhs).__name__}")
        if hasattr(self.rhs, "resolve_expression"):
            raise TypeError("__any takes a list of values, not an expression or a queryset")
        return [str(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*params, self.rhs]
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", [*params, *self.rhs]
