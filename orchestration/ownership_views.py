from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from orchestration import access
from orchestration.forms import OwnershipForm
from orchestration.ownership import change_owners
from orchestration.views import flow_context


@require_POST
def flow_owners(request: HttpRequest, slug: str) -> HttpResponse:
    flow = access.get_flow(request.user, slug, access.MANAGE)
    form = OwnershipForm(request.POST)
    if not form.is_valid():
        context = {**flow_context(request, flow), "ownership_form": form}
        return TemplateResponse(request, "orchestration/flow_detail.html", context, status=422)
    changed = change_owners(flow, user=request.user, **form.cleaned_data)
    if changed:
        messages.success(request, "The owners were changed and the change was recorded.")
    else:
        messages.info(request, "Nothing changed: those teams already own the flow.")
    return redirect(reverse("orchestration:flow_detail", args=[slug]))
