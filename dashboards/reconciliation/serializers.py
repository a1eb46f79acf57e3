"""The contracts and breaks as the API answers them (amounts as decimal strings)."""

from django.conf import settings
from rest_framework import serializers

from tracking.models import Transaction

from ..models import Contract, ContractBreak
from ..models.contracts import FIGURES

# The chain as a person reads it: the contract and its amendments, then the invoices, then
# the payments; each part oldest first.
JOURNEY_ORDER = {"contract_activation": 0, "amendment": 1, "billing": 2, "payment_sync": 3}


def money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


class BreakSerializer(serializers.ModelSerializer):
    contract = serializers.CharField(source="contract.key")
    amount = serializers.SerializerMethodField()
    amount_reporting = serializers.SerializerMethodField()
    reporting_currency = serializers.SerializerMethodField()

    class Meta:
        model = ContractBreak
        fields = [
            "id",
            "contract",
            "kind",
            "amount",
            "currency",
            "amount_reporting",
            "reporting_currency",
            "correlation_id",
            "stage",
            "detail",
            "since",
            "found_at",
            "cleared_at",
        ]

    def get_amount(self, obj: ContractBreak) -> str:
        return money(obj.amount)

    def get_amount_reporting(self, obj: ContractBreak) -> str | None:
        return money(obj.amount_reporting)

    def get_reporting_currency(self, obj: ContractBreak) -> str:
        return settings.REPORTING_CURRENCY


class ContractSerializer(serializers.ModelSerializer):
    contract = serializers.CharField(source="key")
    amounts = serializers.SerializerMethodField()
    amounts_reporting = serializers.SerializerMethodField()
    break_amount = serializers.SerializerMethodField()
    transaction_count = serializers.IntegerField(source="transactions")

    class Meta:
        model = Contract
        fields = [
            "contract",
            "customer",
            "region",
            "business_unit",
            "legal_entity",
            "currency",
            "versions",
            "amounts",
            "amounts_reporting",
            "transaction_count",
            "open_breaks",
            "break_amount",
            "reconciled_at",
        ]

    def get_amounts(self, obj: Contract) -> dict[str, str | None]:
        """Each figure in the contract's currency."""
        return {name: money(getattr(obj, name)) for name in FIGURES}

    def get_amounts_reporting(self, obj: Contract) -> dict[str, str | None]:
        """Each figure in the reporting currency (null where an amount has no FX rate)."""
        return {name: obj.reporting.get(name) for name in FIGURES}

    def get_break_amount(self, obj: Contract) -> str:
        return money(obj.break_amount)


class ContractDetailSerializer(ContractSerializer):
    transactions = serializers.SerializerMethodField()
    breaks = serializers.SerializerMethodField()
    cleared_breaks = serializers.SerializerMethodField()

    class Meta(ContractSerializer.Meta):
        fields = [*ContractSerializer.Meta.fields, "transactions", "breaks", "cleared_breaks"]

    def get_transactions(self, obj: Contract) -> list[dict]:
        rows = (
            Transaction.objects.filter(contract=obj.key)
            .exclude(contract="")
            .select_related("journey", "current_stage", "state")
        )
        ordered = sorted(
            rows, key=lambda t: (JOURNEY_ORDER.get(t.journey.slug, 9), t.started_at, t.id)
        )
        return [
            {
                "correlation_id": t.correlation_id,
                "journey": t.journey.slug,
                "stage": t.current_stage.slug if t.current_stage else None,
                "status": t.state.status,
                "amount": money(t.amount),
                "currency": t.currency,
                "invoice": t.invoice,
                "stage_amounts": {
                    slug: {"amount": held[2], "currency": held[3]}
                    for slug, held in (t.stage_amounts or {}).items()
                },
            }
            for t in ordered
        ]

    def get_breaks(self, obj: Contract) -> list[dict]:
        rows = obj.breaks.filter(cleared_at=None).select_related("contract")
        return BreakSerializer(rows.order_by("-amount", "id"), many=True).data

    def get_cleared_breaks(self, obj: Contract) -> list[dict]:
        """What was found and has since been settled, latest first (at most 100)."""
        rows = obj.breaks.exclude(cleared_at=None).select_related("contract")
        return BreakSerializer(rows.order_by("-cleared_at", "-id")[:100], many=True).data
