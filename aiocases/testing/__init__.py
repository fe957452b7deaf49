"""A fake of Datadog's Case Management API for tests and demos.

``MockTransport`` answers a client's requests in memory, for unit tests
that need no server (``VirtualClock`` lets them wait in no time);
``FakeCasesAPI`` serves the API on a loopback port with seeded data, rate
limits and fault injection; ``aiocases.testing.pytest_plugin`` gives it to
pytest as the ``fake_cases_api`` fixture; ``python -m aiocases.testing``
serves it from its own process.
"""

from aiocases.testing.app import RecordedRequest
from aiocases.testing.clock import VirtualClock
from aiocases.testing.data import FakeCase, Generator
from aiocases.testing.faults import Faults
from aiocases.testing.limits import RateLimitRule
from aiocases.testing.mock import MockTransport, json_response, scripted
from aiocases.testing.server import FakeCasesAPI, LoopbackServer
from aiocases.testing.store import CaseStore

__all__ = [
    "CaseStore",
    "FakeCase",
    "FakeCasesAPI",
    "Faults",
    "Generator",
    "LoopbackServer",
    "MockTransport",
    "RateLimitRule",
    "RecordedRequest",
    "VirtualClock",
    "json_response",
    "scripted",
]
