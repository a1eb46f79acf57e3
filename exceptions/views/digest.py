"""Opting in and out of the daily digest (finance readers: the read scope is enough)."""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.views.decorators.http import require_POST

from audit import log as audit
from c2c_ops.access import needs

from ..models import DigestSubscription


@require_POST
@needs("read")
def digest_view(request):
    wanted = request.POST.get("subscribe") == "yes"
    who = audit.person(request.user)
    if wanted and not request.user.email:
        messages.error(request, "Your account has no email address: ask an admin to add one.")
    elif wanted:
        with transaction.atomic():
            subscription, created = DigestSubscription.objects.get_or_create(user=request.user)
            if created:
                audit.record(who, "create", subscription, after={"email": request.user.email})
        messages.success(request, f"The daily digest will go to {request.user.email}.")
    else:
        with transaction.atomic():
            for subscription in DigestSubscription.objects.filter(user=request.user):
                audit.record(who, "delete", subscription, before={"email": request.user.email})
                subscription.delete()
        messages.success(request, "No more daily digest.")
    return HttpResponseRedirect("/")
