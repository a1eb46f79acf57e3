"""Opting in and out of the daily digest (finance readers: the read scope is enough)."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.views.decorators.http import require_POST

from c2c_ops.access import needs

from ..models import DigestSubscription


@require_POST
@needs("read")
def digest_view(request):
    wanted = request.POST.get("subscribe") == "yes"
    if wanted and not request.user.email:
        messages.error(request, "Your account has no email address: ask an admin to add one.")
    elif wanted:
        DigestSubscription.objects.get_or_create(user=request.user)
        messages.success(request, f"The daily digest will go to {request.user.email}.")
    else:
        DigestSubscription.objects.filter(user=request.user).delete()
        messages.success(request, "No more daily digest.")
    return HttpResponseRedirect("/")
