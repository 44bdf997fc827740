"""One's own notifications, mounted at /loop/notifications/ (beside the loop's other pages)."""

from django.urls import path

from sonda.loop import notifications_views

app_name = "loop_notifications"
urlpatterns = [
    path("", notifications_views.notifications_page, name="list"),
    path("<int:notification_id>/open/", notifications_views.notification_open, name="open"),
    path("read/", notifications_views.notifications_read, name="read"),
    path("settings/", notifications_views.notification_preferences_save, name="settings"),
]
