"""Whether a token request may be sent or retried: budgets and the retry policy. A public path
to :mod:`officernd_auth.core.policy`, where the code is."""

from __future__ import annotations

from .core.policy import (
    Budget,
    BudgetStore,
    Refusal,
    RetryPolicy,
    SharedBudget,
    budget_count,
    budget_for,
    forget_budgets,
    prune_idle_budgets,
)

__all__ = [
    "Budget",
    "BudgetStore",
    "Refusal",
    "RetryPolicy",
    "SharedBudget",
    "budget_count",
    "budget_for",
    "forget_budgets",
    "prune_idle_budgets",
]
