"""Staff pages to people who are not staff, and what a visitor reads of a run's settings."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from evaluation.samples import SampleRecord
from leaderboard.runs.services import create_run_from_records, get_or_create_model

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/staff/status/", "/staff/import/"])
def test_a_signed_in_user_who_is_not_staff_gets_a_clear_page(path):
    anonymous = Client()
    response = anonymous.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    member = Client()
    member.force_login(User.objects.create_user("member", password="a long enough password"))
    response = member.get(path)
    assert response.status_code == 403
    assert "/admin/login/" not in response.content.decode()


def test_stop_sequences_read_as_python_writes_them(client, benchmark):
    records = [SampleRecord("HumanEval/0", 0, "    pass\n")]
    run = create_run_from_records(
        get_or_create_model("Stops"), benchmark, records, stop_sequences=["\nclass", '\n"""']
    )
    page = client.get(f"/runs/{run.id}/").content.decode()
    assert "<code>\\nclass</code>" in page and "\\u000A" not in page


def test_every_admin_list_opens_for_staff_with_its_actions(admin_client, benchmark):
    """Each registered model's list and its first row's page, with a run to show: a list's actions
    are formatted with %, so a description holding a bare percent sign broke the whole page."""
    from django.contrib import admin
    from django.urls import reverse

    create_run_from_records(
        get_or_create_model("Listed"), benchmark, [SampleRecord("HumanEval/0", 0, "    pass\n")]
    )
    for model in admin.site._registry:
        meta = model._meta
        pages = [reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk]))
        for page in pages:
            assert admin_client.get(page).status_code == 200, page
    runs = admin_client.get(reverse("admin:runs_run_changelist")).content.decode()
    assert "Re-execute 10% of the samples" in runs
