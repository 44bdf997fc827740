"""The pages respondents open, at the site's root: /s/<token>/, /o/<token>/ and the preview."""

from django.urls import URLPattern, URLResolver, path

from sonda.surveys import respond_views as views

app_name = "respond"
urlpatterns: list[URLPattern | URLResolver] = [
    path("s/look/<int:organisation_id>.css", views.look_css, name="look_css"),
    path("s/look/<int:organisation_id>/logo", views.look_logo, name="look_logo"),
    path("s/<str:token>/", views.survey, name="survey"),
    path("s/<str:token>/thanks/", views.thanks, name="thanks"),
    path("o/<str:token>/", views.open_link, name="open"),
    path("o/<str:token>/thanks/", views.open_thanks, name="open_thanks"),
    path("surveys/<int:survey_id>/preview/", views.preview, name="preview"),
]
