"""Only staff with the dashboard permission, or the API token, see the dashboard; bad
parameters get a 400 that says what is wrong."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

TOKEN = "t0ken-for-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
def _token(settings):
    settings.DASHBOARD_API_TOKEN = TOKEN


def test_it_sends_anonymous_visitors_of_pages_to_the_login(client):
    for url in ("/dashboard/", "/dashboard/overview/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/?next=/dashboard/")


def test_it_sends_non_staff_to_the_login_and_refuses_staff_without_the_permission(
    client, django_user_model
):
    user = django_user_model.objects.create_user("visitor", password="pw-visitor-1")
    client.force_login(user)
    assert client.get("/dashboard/").status_code == 302
    assert client.get("/dashboard/api/overview").status_code == 403

    user.is_staff = True
    user.save()
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/dashboard/api/overview").status_code == 403


def test_it_refuses_the_api_without_credentials_or_with_a_wrong_token(client):
    response = client.get("/dashboard/api/overview")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN):
        assert client.get("/dashboard/api/daily", HTTP_AUTHORIZATION=header).status_code == 401


def test_it_refuses_every_token_when_none_is_configured(client, settings):
    settings.DASHBOARD_API_TOKEN = ""
    assert client.get("/dashboard/api/overview", HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_it_answers_the_right_token_and_staff(client, staff_client):
    response = client.get("/dashboard/api/overview", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert set(response.json()) >= {"users_total", "users_new", "downloads", "active_users",
                                     "by_platform"}  # fmt: skip
    assert staff_client.get("/dashboard/").status_code == 200
    assert staff_client.get("/dashboard/api/daily").status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tz": "Mars/Olympus"}, "unknown time zone"),
        ({"tz": "Asia/Kolkata"}, "not one of the dashboard's"),
        ({"start": "2026-03-10", "end": "2026-03-01"}, "before start"),
        ({"start": "2023-01-01", "end": "2026-01-01"}, "longer than two years"),
        ({"start": "yesterday"}, "start must be a date"),
        ({"start": "2026-02-30"}, "start must be a date"),
        ({"end": "2026-13-01"}, "end must be a date"),
    ],
)
def test_it_answers_bad_parameters_with_a_400_that_says_why(staff_client, params, message):
    response = staff_client.get("/dashboard/api/overview", params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_a_two_year_range_is_fine(staff_client):
    response = staff_client.get(
        "/dashboard/api/daily", {"start": "2024-03-15", "end": "2026-03-15"}
    )
    assert response.status_code == 200
    assert len(response.json()["days"]) == 731


def test_an_unknown_endpoint_is_a_404(staff_client):
    assert staff_client.get("/dashboard/api/nothing").status_code == 404


def test_the_admin_index_links_the_dashboard(staff_client):
    assert b'href="/dashboard/"' in staff_client.get("/admin/").content
