from django.urls import URLPattern

app_name = "listening_reports"
urlpatterns: list[URLPattern] = []
