"""Test support: the ``FakeOfficeRND`` emulator and its pytest fixture ``officernd_fake``."""

from .clock import FakeClock
from .emulator import FakeOfficeRND
from .faults import Fault
from .records import ApiRequestRecord, App, TokenRequestRecord
from .sample import SAMPLE_ORG, sample_records

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
