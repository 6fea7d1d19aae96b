"""Who may see the dashboard.

Pages: a logged-in staff member with the ``analytics.view_dashboard`` permission;
anyone else is sent to the admin login (a staff member without the permission gets a
403). API: the same session, or ``Authorization: Bearer <DASHBOARD_API_TOKEN>``
compared in constant time; no credentials is a 401, a wrong token a 401, a session
without the right a 403.
"""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse

PERMISSION = "analytics.view_dashboard"


def user_may_view(user) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff) and user.has_perm(
        PERMISSION
    )


def staff_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if not user.has_perm(PERMISSION):
            raise PermissionDenied("the dashboard permission is missing")
        return view(request, *args, **kwargs)

    return wrapped


def token_matches(presented: str) -> bool:
    expected = settings.DASHBOARD_API_TOKEN
    # An unset token never matches, not even an empty one.
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


def api_access_error(request: HttpRequest) -> JsonResponse | None:
    """None if the request may read the API, else the answer that refuses it."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer" and token_matches(token.strip()):
            return None
        return _refusal(401, "invalid API token")
    user = request.user
    if not user.is_authenticated:
        return _refusal(401, "authentication required: a staff session or a Bearer token")
    if not user_may_view(user):
        return JsonResponse({"error": "the dashboard permission is missing"}, status=403)
    return None


def _refusal(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    response["WWW-Authenticate"] = 'Bearer realm="dashboard"'
    return response
