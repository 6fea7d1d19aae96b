"""One running experiment of each kind, for the benchmarks (``bench_abtests``, and
``bench_bot --experiments``). Only for benchmark databases: it creates experiments
named ``bench-*`` (and, given a campaign, two creatives on it) and removes them."""

from __future__ import annotations

import dataclasses

from abtests import kinds, services
from abtests.models import ABTest, ABTestVariant, ExperimentKind
from ads.models import AdCampaign, AdCreative
from ads.selectors import campaigns_forget
from config.redis import get_redis

CREATIVES = ("bench-calm", "bench-loud")


@dataclasses.dataclass
class BenchExperiments:
    tests: list[ABTest]
    surfaces: dict[str, str]  # kind -> the surface a delivery shows
    creatives: list[AdCreative]


def experiments_start(
    *, free_downloads: int, campaign: AdCampaign | None = None
) -> BenchExperiments:
    """Start one experiment per kind. The free-limit arms give ``free_downloads`` and one
    less; the ad-text arms pick two creatives added to ``campaign`` (without a campaign
    they name creatives no campaign has, so only the lookup is paid for)."""
    creatives = []
    if campaign is not None:
        AdCreative.objects.filter(campaign=campaign, name__in=CREATIVES).delete()
        creatives = [
            AdCreative.objects.create(campaign=campaign, name=name, message=f"{name} tea")
            for name in CREATIVES
        ]
        campaigns_forget()
    definitions = {
        "bench-ad-text": (
            ExperimentKind.AD_TEXT,
            [("calm", {"creative": CREATIVES[0]}), ("loud", {"creative": CREATIVES[1]})],
            kinds.SURFACE_AD,
        ),
        "bench-free-limit": (
            ExperimentKind.FREE_LIMIT,
            [("base", {"free_downloads": free_downloads}),
             ("less", {"free_downloads": free_downloads - 1})],
            kinds.SURFACE_QUOTA,
        ),
        "bench-ui": (
            ExperimentKind.UI,
            [("plain", {}), ("named", {"quality_labels": "named"})],
            kinds.SURFACE_QUALITY_LABELS,
        ),
    }  # fmt: skip
    ABTest.objects.filter(name__in=definitions).delete()
    tests = []
    for name, (kind, variants, _surface) in definitions.items():
        test = ABTest.objects.create(name=name, kind=kind)
        for position, (variant_name, config) in enumerate(variants):
            ABTestVariant.objects.create(
                test=test, variant_name=variant_name, traffic_percentage=50,
                variant_config=config, position=position,
            )  # fmt: skip
        tests.append(services.test_start(test=test))
    return BenchExperiments(
        tests=tests,
        surfaces={kind: surface for kind, _variants, surface in definitions.values()},
        creatives=creatives,
    )


def experiments_remove(bench: BenchExperiments) -> None:
    for test in bench.tests:
        get_redis().delete(services.assignments_key(test.pk, test.phase))
    ABTest.objects.filter(pk__in=[test.pk for test in bench.tests]).delete()
    AdCreative.objects.filter(pk__in=[creative.pk for creative in bench.creatives]).delete()
    campaigns_forget()
    services.process_state_reset()
