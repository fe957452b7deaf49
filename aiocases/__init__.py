"""aiocases: an asyncio client for Datadog's Case Management API v2.

>>> async with CasesClient() as client:           # doctest: +SKIP
...     async for cell in client.iter_timeline("PROJ-123"):
...         print(cell.attributes.created_at, cell.attributes.cell_content)
"""

from aiocases.budget import Budget, LocalBudget
from aiocases.client import CasesClient
from aiocases.errors import (
    ApiError,
    BadRequest,
    CasesError,
    ClientClosed,
    DecodeError,
    Forbidden,
    InconsistentPages,
    InvalidArgument,
    NotFound,
    PageLimitExceeded,
    RateLimited,
    ResponseTooLarge,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from aiocases.events import Event, RequestDone, Retrying, Throttled
from aiocases.export import CaseDone, CaseTimeline, ExportEvent, TimelinePage
from aiocases.models import (
    Author,
    AuthorContent,
    Case,
    CellAttributes,
    CellContent,
    TimelineCell,
    Watcher,
)
from aiocases.operations import Request
from aiocases.parsing import from_api_json, to_api_json
from aiocases.retry import RetryPolicy
from aiocases.stats import Stats
from aiocases.sync import Bookmark, CaseSynced
from aiocases.transport import Response, Transport

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "Author",
    "AuthorContent",
    "BadRequest",
    "Bookmark",
    "Budget",
    "Case",
    "CaseDone",
    "CaseSynced",
    "CaseTimeline",
    "CasesClient",
    "CasesError",
    "CellAttributes",
    "CellContent",
    "ClientClosed",
    "DecodeError",
    "Event",
    "ExportEvent",
    "Forbidden",
    "InconsistentPages",
    "InvalidArgument",
    "LocalBudget",
    "NotFound",
    "PageLimitExceeded",
    "RateLimited",
    "Request",
    "RequestDone",
    "Response",
    "ResponseTooLarge",
    "RetryPolicy",
    "Retrying",
    "ServerError",
    "Stats",
    "Throttled",
    "TimelineCell",
    "TimelinePage",
    "Timeout",
    "Transport",
    "TransportError",
    "Unauthorized",
    "Watcher",
    "__version__",
    "from_api_json",
    "to_api_json",
]
