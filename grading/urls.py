from django.urls import path

from grading import views

app_name = "grading"
urlpatterns = [
    path("", views.index, name="index"),
    path("items/<int:item_id>/", views.item, name="item"),
    path("items/<int:item_id>/grade/", views.grade, name="grade"),
    path("items/<int:item_id>/skip/", views.skip, name="skip"),
    path("mine/", views.history, name="history"),
    path("table/", views.table, name="table"),
    path("quality/", views.quality, name="quality"),
    path("adjudication/", views.adjudication, name="adjudication"),
    path("adjudication/<int:item_id>/", views.adjudicate, name="adjudicate"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export-csv"),
    path("export.json", views.export, {"fmt": "json"}, name="export-json"),
]
