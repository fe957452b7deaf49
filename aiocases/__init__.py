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
from aiocases.lifecycle import custom_value
from aiocases.models import (
    Author,
    AuthorContent,
    Case,
    CaseAggregate,
    CaseCount,
    CaseType,
    CellAttributes,
    CellContent,
    CustomAttributeConfig,
    CustomAttributeValue,
    NotificationRule,
    Project,
    ProjectFavorite,
    TimelineCell,
    User,
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
    "CaseAggregate",
    "CaseCount",
    "CaseDone",
    "CaseSynced",
    "CaseTimeline",
    "CaseType",
    "CasesClient",
    "CasesError",
    "CellAttributes",
    "CellContent",
    "ClientClosed",
    "CustomAttributeConfig",
    "CustomAttributeValue",
    "DecodeError",
    "Event",
    "ExportEvent",
    "Forbidden",
    "InconsistentPages",
    "InvalidArgument",
    "LocalBudget",
    "NotFound",
    "NotificationRule",
    "PageLimitExceeded",
    "Project",
    "ProjectFavorite",
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
    "User",
    "Watcher",
    "custom_value",
    "from_api_json",
    "to_api_json",
    "__version__",
]
