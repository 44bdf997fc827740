"""The REST API at /api/v1: one NinjaAPI, a router per app, problem+json errors."""

from ninja import NinjaAPI

from sonda.api.auth import SessionAuth, TokenAuth
from sonda.api.problems import install_problem_handlers

api = NinjaAPI(
    title="Sonda API",
    version="1",
    description=(
        "Customer experience management: organisations, units, people, customers and (in later "
        "versions) surveys, listening, analytics and the closed loop. Authenticate with a "
        "personal API token: `Authorization: Bearer sonda_…`. Errors are RFC 7807 "
        "`application/problem+json` documents whose `errors[].field` names the failing input."
    ),
    auth=[TokenAuth(), SessionAuth()],
    urls_namespace="api",
)
install_problem_handlers(api)

# Routers per app, mounted in one place so the OpenAPI document lists every area.
api.add_router("/privacy", "sonda.privacy.api.router")
api.add_router("/me", "sonda.accounts.api.me_router")
api.add_router("/tokens", "sonda.accounts.api.tokens_router")
api.add_router("/members", "sonda.accounts.api.members_router")
api.add_router("/audit-events", "sonda.accounts.api.audit_router")
api.add_router("/unit-types", "sonda.org.api.unit_types_router")
api.add_router("/units", "sonda.org.api.units_router")
api.add_router("/people", "sonda.org.api.people_router")
api.add_router("/customers", "sonda.customers.api.router")
api.add_router("/responses", "sonda.surveys.responses_api.router")
api.add_router("/programs", "sonda.surveys.api.programs_router")
api.add_router("/surveys", "sonda.surveys.api.surveys_router")
api.add_router("/survey-look", "sonda.surveys.api.look_router")
api.add_router("/invitations", "sonda.listening.api.router")
api.add_router("/events", "sonda.listening.events_api.router")
api.add_router("/trigger-rules", "sonda.listening.rules_api.trigger_rules_router")
api.add_router("/contact-rules", "sonda.listening.rules_api.contact_rules_router")
api.add_router("/listening-settings", "sonda.listening.rules_api.settings_router")
api.add_router("/listening", "sonda.listening.reports_api.router")
api.add_router("/metrics", "sonda.analytics.api.router")
api.add_router("/webhooks", "sonda.webhooks.api.router")
api.add_router("/cases", "sonda.loop.api.cases_router")
api.add_router("/coaching-notes", "sonda.loop.api.coaching_router")
api.add_router("/problems", "sonda.loop.api.problems_router")
api.add_router("/functions", "sonda.loop.api.functions_router")
api.add_router("/alert-rules", "sonda.loop.api.alert_rules_router")
api.add_router("/sla", "sonda.loop.sla_api.router")
api.add_router("/loop-settings", "sonda.loop.settings_api.router")
