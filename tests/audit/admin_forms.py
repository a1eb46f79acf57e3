"""Posting an admin page as a person would: read the form the page shows, change what the
test changes, send the rest back as it was (inlines and their management forms included)."""

from django import forms
from django.test import Client


def form_data(client: Client, url: str, **changes) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    data: dict = {}
    _add(data, response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        _add(data, formset.management_form)
        for each in formset.forms:
            _add(data, each)
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _add(data: dict, form: forms.BaseForm) -> None:
    for name, field in form.fields.items():
        key = form.add_prefix(name)
        value = form[name].value()
        widget = field.widget
        if isinstance(widget, forms.MultiWidget):
            parts = widget.decompress(value) if not isinstance(value, list) else value
            for i, part in enumerate(parts):
                data[f"{key}_{i}"] = "" if part is None else part
        elif isinstance(field, forms.BooleanField):
            data[key] = "on" if value else None
        elif isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = "" if value is None else value
