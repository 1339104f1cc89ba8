"""FetchTimeMiddleware: stamps each response with the moment it arrived.

Relative times on a page ("2 hours ago") count back from that moment, not from the
moment a callback happens to run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy import Request
from scrapy.http import Response


class FetchTimeMiddleware:
    def process_response(self, request: Request, response: Response) -> Response:
        request.meta["fetched_at"] = datetime.now(UTC)
        return response


def fetched_at(response: Response) -> datetime:
    """When ``response`` arrived (now, for a response built by hand)."""
    value = response.meta.get("fetched_at") if response.request is not None else None
    return value if isinstance(value, datetime) else datetime.now(UTC)
