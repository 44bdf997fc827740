"""Listening figures over the API: dry runs, the sample-size planner, response rates."""

from ninja import Router

router = Router(tags=["listening reports"])
