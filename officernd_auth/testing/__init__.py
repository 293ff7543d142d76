"""Test support: the ``FakeOfficeRND`` emulator and its pytest fixture ``officernd_fake``."""

from .sample import SAMPLE_ORG, sample_records
from .server import ApiRequestRecord, App, FakeClock, FakeOfficeRND, Fault, TokenRequestRecord

__all__ = [
    "SAMPLE_ORG",
    "ApiRequestRecord",
    "App",
    "FakeClock",
    "FakeOfficeRND",
    "Fault",
    "TokenRequestRecord",
    "sample_records",
]
