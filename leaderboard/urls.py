from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from grading import views as grading_views
from leaderboard import api, selectors, views
from leaderboard.caching import public_page
from leaderboard.runs import views as run_views

# Public pages are served from the cache (leaderboard/caching.py, docs/pages.md); those that show
# a run in progress say so, and are rendered every time. The queue and the progress polls are live.

api_patterns = [
    path("", api.index, name="index"),
    path("board/", public_page(api.board), name="board"),
    path("compare/", public_page(api.compare), name="compare"),
    path("tables/<str:name>/", public_page(api.table), name="table"),
    path("models/", public_page(api.models), name="models"),
    path("models/<int:model_id>/", public_page(api.model, selectors.model_in_progress), name="model"),
    path("runs/<int:run_id>/", public_page(api.run, selectors.run_in_progress), name="run"),
    path(
        "runs/<int:run_id>/problems/",
        public_page(api.run_problems, selectors.run_in_progress),
        name="run-problems",
    ),
    path(
        "runs/<int:run_id>/samples/",
        public_page(api.run_samples, selectors.run_in_progress),
        name="run-samples",
    ),
    path(
        "problems/<int:problem_id>/", public_page(api.problem, selectors.problem_in_progress), name="problem"
    ),
    path("submissions/", api.submissions, name="submissions"),
]

urlpatterns = [
    path("", public_page(views.index), name="index"),
    path("tables/humaneval/", public_page(views.table_humaneval), name="table-humaneval"),
    path("tables/apps/", public_page(views.table_apps), name="table-apps"),
    path("tables/docstrings/", public_page(views.table_docstrings), name="table-docstrings"),
    path("charts/", public_page(views.charts), name="charts"),
    path(
        "models/<int:model_id>/", public_page(views.model_detail, selectors.model_in_progress), name="model"
    ),
    path("runs/<int:run_id>/", public_page(views.run_detail, selectors.run_in_progress), name="run"),
    path("runs/<int:run_id>/progress.json", views.run_progress, name="run-progress"),
    path("runs/<int:run_id>/stop/", views.stop_run, name="run-stop"),
    path("runs/<int:run_id>/samples.jsonl", views.run_jsonl, {"part": "samples"}, name="run-samples-jsonl"),
    path(
        "runs/<int:run_id>/verdicts.jsonl", views.run_jsonl, {"part": "verdicts"}, name="run-verdicts-jsonl"
    ),
    path("runs/<int:run_id>/rank/", views.rank_run, name="run-rank"),
    path(
        "problems/<int:problem_id>/",
        public_page(views.problem_detail, selectors.problem_in_progress),
        name="problem",
    ),
    path("compare/", public_page(views.compare), name="compare"),
    path("submit/", views.submit, name="submit"),
    path("queue/", views.queue, name="queue"),
    path("submissions/<int:submission_id>/cancel/", views.cancel_submission, name="submission-cancel"),
    path("submissions/<int:submission_id>/approve/", views.approve_submission, name="submission-approve"),
    path("submissions/<int:submission_id>/reject/", views.reject_submission, name="submission-reject"),
    path("api/", include((api_patterns, "api"))),
    path("staff/import/", run_views.import_samples_view, name="import-samples"),
    path("staff/status/", run_views.status, name="status"),
    path("accounts/signup/", views.signup, name="signup"),
    # Only the account pages the site uses: no password reset, since the site sends no mail.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    # Table 3 is the grading app's, public like the other tables: this path, matched before the
    # grading app's own, serves it through the same cache (grading never imports the public pages).
    path("grading/table/", public_page(grading_views.table, selectors.docstrings_in_progress)),
    path("grading/", include("grading.urls")),
    path("admin/", admin.site.urls),
]
