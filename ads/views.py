"""The click redirect: a signed impression in, one logged click and a 302 to the
campaign out; anything it cannot vouch for is a 404, so it never redirects elsewhere."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .selectors import campaign_click_target, impression_known
from .services import ad_click_record
from .tokens import click_token_read


@never_cache
@require_safe
def ad_click(request: HttpRequest, token: str) -> HttpResponseRedirect:
    claim = click_token_read(token)
    if claim is None or not impression_known(claim.impression_id):
        raise Http404("unknown link")
    target = campaign_click_target(claim.campaign_id)
    if target is None:
        raise Http404("unknown link")
    if request.method == "GET":  # link previews ask with HEAD; only a person's GET counts
        ad_click_record(claim=claim)
    return HttpResponseRedirect(target)
