from django.urls import URLPattern, URLResolver, path

from sonda.surveys import response_views

app_name = "responses"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", response_views.response_list_page, name="list"),
    path("<int:response_id>/", response_views.response_detail, name="detail"),
    path("download/<str:what>.csv", response_views.response_download, name="download"),
]
