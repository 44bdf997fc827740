from django.urls import path

from sonda.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("<int:job_id>/", views.import_detail, name="detail"),
]
