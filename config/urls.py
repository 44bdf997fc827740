"""URL map: pages per app, the REST API under /api/v1."""

from django.urls import include, path

urlpatterns = [
    path("api/v1/", include("sonda.api.urls")),
    path("org/", include("sonda.org.urls")),
    path("customers/", include("sonda.customers.urls")),
    path("imports/", include("sonda.imports.urls")),
    path("surveys/", include("sonda.surveys.urls")),
    path("responses/", include("sonda.surveys.response_urls")),
    path("privacy/", include("sonda.privacy.urls")),
    path("listening/", include("sonda.listening.urls")),
    path("listening/", include("sonda.listening.report_urls")),
    path("loop/sla/", include("sonda.loop.sla_urls")),
    path("loop/notifications/", include("sonda.loop.notifications_urls")),
    path("dashboards/", include("sonda.analytics.urls")),
    path("loop/", include("sonda.loop.urls")),
    path("", include("sonda.listening.public_urls")),
    path("", include("sonda.surveys.respond_urls")),
    path("", include("sonda.accounts.urls")),
    path("", include("sonda.web.urls")),
]
