"""The back office: validation, lifecycle, read-only running experiments, import/export."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from abtests import kinds, services
from abtests.models import ABTest, ABTestOverride, ABTestVariant, ExperimentKind

from .conftest import experiment

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("owner", "owner@example.org", "pw"))
    return client


def _form(name: str, kind: str, variants: list[tuple[str, int, str]], **extra) -> dict:
    data = {
        "name": name, "description": "", "kind": kind, "hash_seed": "", "coverage": "1.0",
        "namespace": "", "namespace_start": "0.0", "namespace_end": "1.0",
        "start_date_0": "", "start_date_1": "", "end_date_0": "", "end_date_1": "",
        "variants-TOTAL_FORMS": str(len(variants)), "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "2", "variants-MAX_NUM_FORMS": "1000",
        "overrides-TOTAL_FORMS": "0", "overrides-INITIAL_FORMS": "0",
        "overrides-MIN_NUM_FORMS": "0", "overrides-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for i, (variant_name, percentage, config) in enumerate(variants):
        data[f"variants-{i}-position"] = str(i)
        data[f"variants-{i}-variant_name"] = variant_name
        data[f"variants-{i}-traffic_percentage"] = str(percentage)
        data[f"variants-{i}-variant_config"] = config
    data.update(extra)
    return data


def test_an_owner_creates_the_10_vs_15_experiment(staff):
    response = staff.post(
        reverse("admin:abtests_abtest_add"),
        _form(
            "free-limit",
            ExperimentKind.FREE_LIMIT,
            [
                ("ten", 50, '{"free_downloads": 10}'),
                ("fifteen", 50, '{"free_downloads": 15}'),
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    test = ABTest.objects.get(name="free-limit")
    assert [v.variant_config for v in test.variants.all()] == [
        {"free_downloads": 10}, {"free_downloads": 15},
    ]  # fmt: skip
    staff.post(
        reverse("admin:abtests_abtest_changelist"),
        {"action": "start_action", "_selected_action": [test.pk]},
    )
    test.refresh_from_db()
    assert test.is_active and test.start_date is not None


@pytest.mark.parametrize(
    ("kind", "variants", "message"),
    [
        (ExperimentKind.FREE_LIMIT, [("a", 50, '{"free_downloads": 10}'),
                                     ("b", 40, '{"free_downloads": 15}')], "sum to 100"),
        (ExperimentKind.FREE_LIMIT, [("a", 50, '{"free_downloads": 10}'),
                                     ("b", 50, '{"free_downloads": "15"}')], "whole number"),
        (ExperimentKind.FREE_LIMIT, [("a", 50, '{"free_downloads": 10}'),
                                     ("b", 50, '{"limit": 15}')], "unknown keys"),
        (ExperimentKind.UI, [("a", 50, "{}"), ("b", 50, '{"welcome": "shouty"}')], "one of"),
        (ExperimentKind.AD_TEXT, [("a", 50, "{}"), ("b", 50, '{"creative": ""}')], "non-empty"),
        (ExperimentKind.AD_TEXT, [("a", 50, "{}"), ("b", 50, '{"campaign": "x"}')], "needs"),
        (ExperimentKind.UI, [("a", 100, "{}")], "at least two"),
    ],
)  # fmt: skip
def test_it_refuses_invalid_variants(staff, kind, variants, message):
    response = staff.post(reverse("admin:abtests_abtest_add"), _form("bad", kind, variants))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ABTest.objects.filter(name="bad").exists()


def test_config_validation_normalises_each_kind():
    assert kinds.config_validate(kind="ad_text", config={"creative": " short "}) == {
        "creative": "short"
    }
    assert kinds.config_validate(kind="ui", config={"quality_order": "descending"}) == {
        "quality_order": "descending"
    }
    with pytest.raises(kinds.ConfigError):
        kinds.config_validate(kind="free_limit", config={"free_downloads": True})
    with pytest.raises(kinds.ConfigError):
        kinds.config_validate(kind="free_limit", config=[1])


def test_a_running_experiments_variants_cannot_be_edited(staff):
    test = experiment()
    url = reverse("admin:abtests_abtest_change", args=[test.pk])
    page = staff.get(url).content.decode()
    assert 'name="variants-0-traffic_percentage"' not in page  # shown read-only
    before = list(ABTestVariant.objects.values_list("variant_name", "traffic_percentage"))
    staff.post(url, _form(test.name, test.kind, [("control", 90, "{}"), ("fifteen", 10, "{}")]))
    assert list(ABTestVariant.objects.values_list("variant_name", "traffic_percentage")) == before
    services.test_stop(test=test)
    assert 'name="variants-0-traffic_percentage"' in staff.get(url).content.decode()


def test_start_stop_and_new_phase_are_compare_and_set():
    test = experiment(start=False)
    services.test_start(test=test)
    with pytest.raises(services.ExperimentError, match="already running"):
        services.test_start(test=test)
    services.test_stop(test=test)
    with pytest.raises(services.ExperimentError, match="not running"):
        services.test_stop(test=test)
    stale = ABTest.objects.get(pk=test.pk)
    services.test_new_phase(test=test)
    with pytest.raises(services.ExperimentError, match="reload"):
        services.test_new_phase(test=stale)
    assert ABTest.objects.get(pk=test.pk).phase == 2


def test_an_invalid_experiment_does_not_start():
    test = experiment(start=False, variants=[("a", 60, {"free_downloads": 1}),
                                             ("b", 60, {"free_downloads": 2})])  # fmt: skip
    with pytest.raises(services.ExperimentError, match="sum to 100"):
        services.test_start(test=test)


def test_qa_overrides_are_set_in_the_admin(staff):
    test = experiment()
    fifteen = test.variants.get(variant_name="fifteen")
    url = reverse("admin:abtests_abtest_change", args=[test.pk])
    data = {
        "description": "", "end_date_0": "", "end_date_1": "",
        "variants-TOTAL_FORMS": "2", "variants-INITIAL_FORMS": "2",
        "variants-MIN_NUM_FORMS": "2", "variants-MAX_NUM_FORMS": "1000",
        "overrides-TOTAL_FORMS": "1", "overrides-INITIAL_FORMS": "0",
        "overrides-MIN_NUM_FORMS": "0", "overrides-MAX_NUM_FORMS": "1000",
        "overrides-0-user_id": "555", "overrides-0-variant": str(fifteen.pk),
        "overrides-0-note": "QA phone",
    }  # fmt: skip
    for i, variant in enumerate(test.variants.all()):
        data[f"variants-{i}-id"] = str(variant.pk)
        data[f"variants-{i}-test"] = str(test.pk)
    response = staff.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert ABTestOverride.objects.get(user_id=555).variant == fifteen
    choice = services.variant_for(user_id=555, kind=test.kind)
    assert (choice.variant_name, choice.forced) == ("fifteen", True)


def test_export_then_import_round_trips(staff):
    test = experiment(variants=[("a", 20, {"free_downloads": 10}),
                                ("b", 80, {"free_downloads": 15})], coverage=0.5)  # fmt: skip
    response = staff.post(
        reverse("admin:abtests_abtest_changelist"),
        {"action": "export_json_action", "_selected_action": [test.pk]},
    )
    exported = response.content
    assert json.loads(exported)["experiments"][0]["variants"][1]["traffic_percentage"] == 80
    renamed = exported.replace(b'"free-limit"', b'"free-limit-copy"')
    response = staff.post(
        reverse("admin:abtests_abtest_import"),
        {"file": SimpleUploadedFile("experiments.json", renamed)},
    )
    assert response.status_code == 302
    copy = ABTest.objects.get(name="free-limit-copy")
    assert (copy.is_active, copy.coverage, copy.kind) == (False, 0.5, "free_limit")
    assert list(copy.variants.values_list("variant_name", "traffic_percentage")) == [
        ("a", 20), ("b", 80),
    ]  # fmt: skip
    # Importing over a running experiment is refused, and nothing is half-written.
    response = staff.post(
        reverse("admin:abtests_abtest_import"),
        {"file": SimpleUploadedFile("experiments.json", exported)},
    )
    assert "stop it before importing" in response.content.decode()


def test_an_import_with_a_bad_variant_is_refused():
    bad = {"experiments": [{"name": "x", "kind": "ui", "variants": [
        {"variant_name": "a", "traffic_percentage": 50, "variant_config": {}},
        {"variant_name": "b", "traffic_percentage": 50, "variant_config": {"welcome": 3}},
    ]}]}  # fmt: skip
    with pytest.raises(services.ExperimentError, match="welcome"):
        services.tests_import(json.dumps(bad))
    assert not ABTest.objects.filter(name="x").exists()


def test_a_staff_member_who_may_only_view_experiments_cannot_import_them(client):
    viewer = User.objects.create_user("analyst", "analyst@example.org", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_abtest"))
    client.force_login(viewer)
    assert client.get(reverse("admin:abtests_abtest_changelist")).status_code == 200
    response = client.post(
        reverse("admin:abtests_abtest_import"),
        {"file": SimpleUploadedFile("experiments.json", b'{"experiments": []}')},
    )
    assert response.status_code == 403
