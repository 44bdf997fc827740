"""Print the API's OpenAPI document: `make openapi` writes it to docs/openapi.json."""

import json
from typing import Any

from django.core.management.base import BaseCommand

from sonda.api.api import api


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document exactly as /api/v1/openapi.json serves it."""
    return dict(api.get_openapi_schema())


def openapi_text() -> str:
    """The document in its committed form: sorted keys, indent 2, a final newline."""
    return json.dumps(openapi_document(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Print the OpenAPI document of /api/v1 (sorted keys, indent 2) to stdout."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(openapi_text(), ending="")
