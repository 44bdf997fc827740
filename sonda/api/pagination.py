"""Pagination of every list: `?limit=` and `?offset=`, answering `{"count": N, "items": [...]}`."""

from django.conf import settings
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination


class PageQuery(Schema):
    limit: int = Field(
        settings.SONDA_PAGE_SIZE,
        ge=1,
        le=settings.SONDA_MAX_PAGE_SIZE,
        description="How many items to return.",
    )
    offset: int = Field(0, ge=0, description="How many items to skip.")


class Page(LimitOffsetPagination):
    """Limit/offset pages; a limit above the maximum is refused rather than silently cut."""

    Input = PageQuery  # type: ignore[assignment]
