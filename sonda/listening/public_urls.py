"""Listening's public addresses at the site's root: unsubscribing and the SMS receipts webhook."""

from django.urls import URLPattern, path

from sonda.listening import public_views as views

app_name = "listening_public"
urlpatterns: list[URLPattern] = [
    path("u/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("hooks/sms/receipts", views.sms_receipts, name="sms_receipts"),
]
