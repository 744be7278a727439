from django.contrib import admin
from django.urls import include, path

from evaluation import views as evaluation_views
from leaderboard import views

urlpatterns = [
    path("", views.index, name="index"),
    path("runs/<int:run_id>/", views.run_detail, name="run"),
    path("runs/<int:run_id>/progress.json", views.run_progress, name="run-progress"),
    path("staff/import/", evaluation_views.import_samples_view, name="import-samples"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("grading/", include("grading.urls")),
    path("admin/", admin.site.urls),
]
