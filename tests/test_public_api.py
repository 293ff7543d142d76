"""The exported names and the exception tree are part of the contract: pin them."""

from __future__ import annotations

import copy
import pickle

import officernd_auth
from officernd_auth import errors


def test_exported_names() -> None:
    assert sorted(officernd_auth.__all__) == sorted(
        [
            "ConfigurationError",
            "InvalidClientError",
            "InvalidScopeError",
            "MemoryTokenCache",
            "OfficeRNDAuth",
            "OfficeRNDAuthError",
            "OfficeRNDSession",
            "RateLimitedError",
            "ScopeError",
            "ScopeMismatchWarning",
            "ScopeNotGrantedError",
            "ScopeNotGrantedWarning",
            "Token",
            "TokenCache",
            "TokenEndpointError",
            "TokenProvider",
            "TokenRequestError",
            "UnknownScopeWarning",
            "WebhookError",
            "WebhookPayloadError",
            "WebhookSignatureError",
            "__version__",
            "reset",
        ]
    )
    for name in officernd_auth.__all__:
        assert hasattr(officernd_auth, name)


def test_exception_tree() -> None:
    root = errors.OfficeRNDAuthError
    assert issubclass(errors.ConfigurationError, root)
    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.ScopeError, root)
    assert issubclass(errors.ScopeError, ValueError)
    for cls in (
        errors.InvalidClientError,
        errors.InvalidScopeError,
        errors.RateLimitedError,
        errors.TokenEndpointError,
    ):
        assert issubclass(cls, errors.TokenRequestError)
    assert issubclass(errors.TokenRequestError, root)
    assert issubclass(errors.ScopeNotGrantedError, root)
    assert issubclass(errors.UnknownScopeWarning, UserWarning)


def test_error_code_table() -> None:
    assert errors.error_class_for("invalid_client") is errors.InvalidClientError
    assert errors.error_class_for("invalid_scope") is errors.InvalidScopeError
    assert errors.error_class_for("unauthorized_client") is errors.InvalidScopeError
    assert errors.error_class_for("something_new") is errors.TokenRequestError
    assert errors.error_class_for(None) is errors.TokenRequestError


def test_exceptions_copy_and_pickle_with_attributes() -> None:
    exc = errors.RateLimitedError("slow down", status_code=429, error=None, retry_after=7.0)
    for clone in (copy.copy(exc), pickle.loads(pickle.dumps(exc))):
        assert type(clone) is errors.RateLimitedError
        assert str(clone) == "slow down"
        assert clone.retry_after == 7.0
        assert clone.status_code == 429
    missing = errors.ScopeNotGrantedError("x", missing=frozenset({"a.b"}))
    assert pickle.loads(pickle.dumps(missing)).missing == frozenset({"a.b"})
