"""The forms of a flow's key pages: create, rotate, revoke. The rules themselves (scopes,
expiry in the future, overlap) are tracking.key_lifecycle's; these check the input's shape
so that a mistake is shown beside its field."""

from django import forms
from django.conf import settings
from django.utils import timezone

from tracking.key_lifecycle import NAME_MAX
from tracking.models.flows import SCOPES

SCOPE_HELP = {
    "ingest": "report events and traces",
    "read": "read transactions",
    "operate": "act on exceptions",
}
# Up to 30 days: past that, a "rotation" is two keys living side by side.
MAX_OVERLAP_HOURS = 24 * 30


class ExpiryField(forms.DateTimeField):
    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", f"Optional, {settings.TIME_ZONE} time; empty: the key never expires."
        )
        super().__init__(**kwargs)

    def clean(self, value):
        moment = super().clean(value)
        if moment is not None and moment <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return moment


class CreateKeyForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, help_text="To recognise the key by.")
    scopes = forms.MultipleChoiceField(
        choices=[(s, f"{s}: {SCOPE_HELP.get(s, s)}") for s in SCOPES],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": "Choose at least one scope.",
            "invalid_choice": "Unknown scope %(value)s: choose from " + ", ".join(SCOPES) + ".",
        },
    )
    expires = ExpiryField(label="Expires")


class RotateKeyForm(forms.Form):
    overlap_hours = forms.IntegerField(
        label="Overlap (hours)",
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        help_text="How long the old key keeps working beside the new one.",
    )
    expires = ExpiryField(label="New key expires")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["overlap_hours"].initial = settings.API_KEY_ROTATION_OVERLAP_HOURS


class RevokeKeyForm(forms.Form):
    # Sent only by the confirm page's button: a stray POST without it revokes nothing.
    confirm = forms.BooleanField(
        required=True, error_messages={"required": "Confirm to revoke the key."}
    )
