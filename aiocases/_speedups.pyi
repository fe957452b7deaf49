"""Types of the C speedups (``aiocases/_speedups.c``), for the type checker."""

from collections.abc import Callable

from aiocases.models import TimelineCell

def configure(
    cell: type,
    attributes: type,
    content: type,
    author: type,
    datetime: type,
    cell_fields: tuple[str, ...],
    attribute_fields: tuple[str, ...],
    content_fields: tuple[str, ...],
    empty: object,
    from_api_shape: Callable[[str], object],
    parse_timestamp: Callable[[str], object],
    structure_timestamp: Callable[[object, type], object],
    structure_author: Callable[[object, type], object],
    /,
) -> None: ...
def cell_fast(raw: object, /) -> TimelineCell | None: ...
