"""Test support: the ``FakeOfficeRND`` emulator and its pytest fixture ``officernd_fake``."""

from .clock import FakeClock
from .emulator import FakeOfficeRND
from .faults import Fault
from .receiver import ReceivedWebhook, WebhookReceiver
from .records import ApiRequestRecord, App, TokenRequestRecord
from .sample import SAMPLE_ORG, sample_records
from .webhooks import WebhookDelivery

__all__ = [
    "SAMPLE_ORG",
    "ApiRequestRecord",
    "App",
    "FakeClock",
    "FakeOfficeRND",
    "Fault",
    "ReceivedWebhook",
    "TokenRequestRecord",
    "WebhookDelivery",
    "WebhookReceiver",
    "sample_records",
]
