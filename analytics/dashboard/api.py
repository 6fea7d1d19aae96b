"""The JSON API under ``/dashboard/api/``: a registry of endpoints and the one view
that serves them (access, parameters, cache, errors).

An endpoint is a function of the parsed ``Period`` and the query's other parameters
that returns a JSON-able dict; register it with ``@endpoint("name")`` (extra query
parameters it reads must be listed, they become part of its cache key).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connection
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import selectors, videos
from .access import api_access_error
from .cache import cached_answer
from .params import ParamError, Period, int_param, period_parse

Compute = Callable[[Period, Mapping[str, str]], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    compute: Compute
    params: tuple[str, ...] = ()


ENDPOINTS: dict[str, Endpoint] = {}


def endpoint(name: str, *, params: tuple[str, ...] = ()) -> Callable[[Compute], Compute]:
    def register(compute: Compute) -> Compute:
        ENDPOINTS[name] = Endpoint(name, compute, params)
        return compute

    return register


def answer_key(spec: Endpoint, period: Period, query: Mapping[str, str]) -> str:
    extras = "&".join(f"{name}={query.get(name, '')}" for name in spec.params)
    return f"{spec.name}:{period.tz}:{period.start}:{period.end}:{extras}"


@never_cache
@require_GET
def api_view(request: HttpRequest, name: str) -> JsonResponse:
    refusal = api_access_error(request)
    if refusal is not None:
        return refusal
    spec = ENDPOINTS.get(name)
    if spec is None:
        raise Http404(f"no dashboard endpoint {name!r}")
    if connection.vendor != "postgresql":
        return JsonResponse({"error": "the dashboard needs PostgreSQL"}, status=503)
    query = request.GET
    try:
        period = period_parse(query)
        answer, _hit = cached_answer(
            answer_key(spec, period, query), lambda: spec.compute(period, query)
        )
    except ParamError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"start": str(period.start), "end": str(period.end), "tz": period.tz,
                         **answer})  # fmt: skip


@endpoint("overview")
def overview(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return selectors.overview(period)


@endpoint("daily")
def daily(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return selectors.daily(period)


@endpoint("top-videos", params=("limit",))
def top_videos(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    limit = int_param(query, "limit", default=10, low=1, high=videos.MAX_LIMIT)
    return videos.top_videos(period, limit)


@endpoint("platforms")
def platforms(period: Period, query: Mapping[str, str]) -> dict[str, Any]:
    return selectors.platforms(period)
