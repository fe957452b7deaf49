"""Building requests: one pure function per API operation (no I/O, as
gidgethub's ``sansio`` makes them), named as the official Python client
names its method.

A :class:`Request` names its operation, its method, percent-encoded path and
query, the rate-limit group it counts against, the status its success has,
and its ``effect``, which is what a retry of it may do (see
:mod:`aiocases.retry`):

* ``"read"``: nothing changes, however often it is sent;
* ``"set"``: it sets a state (a field, an assignment, a watch, a deletion):
  sent again, it sets the same state;
* ``"once"``: it acts again each time it is sent (adding a comment, creating
  a case, a project, a type, a configuration or a rule, a bulk update).

The client sets where the request goes (``origin``) and its credentials
(``headers``) before handing it to the transport, as httpx applies auth.  By
area: :mod:`~aiocases.operations.timeline`, :mod:`~aiocases.operations.cases`,
:mod:`~aiocases.operations.projects`, :mod:`~aiocases.operations.casetypes`.
"""

from __future__ import annotations

from aiocases.operations.cases import *  # noqa: F403
from aiocases.operations.cases import __all__ as _cases
from aiocases.operations.casetypes import *  # noqa: F403
from aiocases.operations.casetypes import __all__ as _casetypes
from aiocases.operations.projects import *  # noqa: F403
from aiocases.operations.projects import __all__ as _projects
from aiocases.operations.request import Effect, Request
from aiocases.operations.timeline import *  # noqa: F403
from aiocases.operations.timeline import __all__ as _timeline

__all__ = ["Effect", "Request", *_timeline, *_cases, *_projects, *_casetypes]
