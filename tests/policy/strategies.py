"""Moved to tests/core/strategies.py (issue 10: tests mirror the packages).

Kept as a re-export for tests that still import it from here
(tests/directory/test_candidate_filter.py); remove once they import tests.core.strategies.
"""

from tests.core.strategies import TODAY, accounts, days_around, instants, maybe

__all__ = ["TODAY", "accounts", "days_around", "instants", "maybe"]
