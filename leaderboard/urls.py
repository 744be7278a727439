from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from leaderboard import api, views
from leaderboard.runs import views as run_views

api_patterns = [
    path("", api.index, name="index"),
    path("board/", api.board, name="board"),
    path("compare/", api.compare, name="compare"),
    path("tables/<str:name>/", api.table, name="table"),
    path("models/", api.models, name="models"),
    path("models/<int:model_id>/", api.model, name="model"),
    path("runs/<int:run_id>/", api.run, name="run"),
    path("runs/<int:run_id>/problems/", api.run_problems, name="run-problems"),
    path("runs/<int:run_id>/samples/", api.run_samples, name="run-samples"),
    path("problems/<int:problem_id>/", api.problem, name="problem"),
    path("submissions/", api.submissions, name="submissions"),
]

urlpatterns = [
    path("", views.index, name="index"),
    path("tables/humaneval/", views.table_humaneval, name="table-humaneval"),
    path("tables/apps/", views.table_apps, name="table-apps"),
    path("tables/docstrings/", views.table_docstrings, name="table-docstrings"),
    path("charts/", views.charts, name="charts"),
    path("models/<int:model_id>/", views.model_detail, name="model"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/progress.json", views.run_progress, name="run-progress"),
    path("runs/<int:run_id>/stop/", views.stop_run, name="run-stop"),
    path("runs/<int:run_id>/samples.jsonl", views.run_jsonl, {"part": "samples"}, name="run-samples-jsonl"),
    path(
        "runs/<int:run_id>/verdicts.jsonl", views.run_jsonl, {"part": "verdicts"}, name="run-verdicts-jsonl"
    ),
    path("runs/<int:run_id>/rank/", views.rank_run, name="run-rank"),
    path("problems/<int:problem_id>/", views.problem_detail, name="problem"),
    path("compare/", views.compare, name="compare"),
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
    path("grading/", include("grading.urls")),
    path("admin/", admin.site.urls),
]
