"""Trigger rules, the contact policy and quiet hours over the API."""

from ninja import Router

trigger_rules_router = Router(tags=["trigger rules"])
contact_rules_router = Router(tags=["contact policy"])
settings_router = Router(tags=["contact policy"])
