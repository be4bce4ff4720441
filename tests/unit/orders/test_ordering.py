"""The status order is total: whatever order events arrive in, duplicated or tied in time, the
order ends in one state, and only changes that move it forward are applied."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from webapp.orders.ordering import lifecycle_rank, supersedes
from webapp.vocabulary import ORDER_STATUSES

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
STATUSES = [choice.code for choice in ORDER_STATUSES]


def final_state(events):
    status, at, applied = None, None, []
    for new_status, new_at in events:
        if new_status == status:  # the order already has it: nothing is recorded or notified,
            at = max(at, new_at)  # but a later report of it moves its time on
            continue
        if supersedes("order", new_status, new_at, status, at):
            status, at = new_status, new_at
            applied.append(new_status)
    return status, at, applied


def test_a_tie_in_time_is_broken_by_the_lifecycle():
    assert supersedes("order", "ready", T0, "sent_for_processing", T0)
    assert not supersedes("order", "sent_for_processing", T0, "ready", T0)
    assert not supersedes("order", "ready", T0, "ready", T0)
    assert supersedes("order", "processing", T0 + timedelta(seconds=1), "ready", T0)  # later wins
    assert supersedes("invoice", "cancelled", T0, "closed", T0)
    assert lifecycle_rank("order", None) == -1 and supersedes("order", "initiated", T0, None, None)


def test_the_shopify_tie_from_the_fault_run_notifies_once():
    # orders/updated (fulfilled → ready), then orders/paid and orders/fulfilled with the same updated_at
    events = [("ready", T0), ("sent_for_processing", T0), ("ready", T0)]
    assert final_state(events) == ("ready", T0, ["ready"])


events = st.lists(st.tuples(st.sampled_from(STATUSES), st.integers(0, 3).map(lambda s: T0 + timedelta(seconds=s))),
                  min_size=1, max_size=8)


@given(events, st.randoms())
def test_any_arrival_order_ends_in_the_same_state(sequence, random):
    shuffled = list(sequence)
    random.shuffle(shuffled)
    expected = max(sequence, key=lambda e: (e[1], lifecycle_rank("order", e[0])))
    assert final_state(sequence)[:2] == final_state(shuffled)[:2] == expected


@given(events)
def test_replaying_every_event_again_changes_nothing(sequence):
    once = final_state(sequence)
    assert final_state(sequence + sequence) == once


def test_invoices_rank_on_their_own_lifecycle():
    """An invoice that is closed and then cancelled at the same instant ends cancelled: invoices are
    ranked on the invoice lifecycle, where "closed" exists, not on the order one (mutmut's survivor)."""
    assert lifecycle_rank("invoice", "closed") == 0 and lifecycle_rank("invoice", "cancelled") == 1
    at = datetime(2024, 5, 1, tzinfo=UTC)
    assert supersedes("invoice", "cancelled", at, "closed", at)
    assert not supersedes("invoice", "closed", at, "cancelled", at)
