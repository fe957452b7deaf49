"""aiocases: an asyncio client for Datadog's Case Management API v2.

>>> async with CasesClient() as client:           # doctest: +SKIP
...     async for cell in client.iter_timeline("PROJ-123"):
...         print(cell.attributes.created_at, cell.attributes.cell_content)
"""

from aiocases.client import CasesClient
from aiocases.errors import (
    ApiError,
    BadRequest,
    CasesError,
    DecodeError,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from aiocases.models import (
    Author,
    AuthorContent,
    CellAttributes,
    CellContent,
    TimelineCell,
    Watcher,
    from_api_json,
    to_api_json,
)
from aiocases.pagination import CaseTimeline
from aiocases.ratelimit import Stats
from aiocases.retry import RetryPolicy

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "Author",
    "AuthorContent",
    "BadRequest",
    "CaseTimeline",
    "CasesClient",
    "CasesError",
    "CellAttributes",
    "CellContent",
    "DecodeError",
    "Forbidden",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "ServerError",
    "Stats",
    "TimelineCell",
    "Timeout",
    "TransportError",
    "Unauthorized",
    "Watcher",
    "__version__",
    "from_api_json",
    "to_api_json",
]
