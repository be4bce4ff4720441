from webapp.dispatch.delivery import RetryPolicy
from webapp.dispatch.planned import PENDING, PlannedMessage


def test_backoff_is_jittered_exponential_capped_and_yields_to_retry_after():
    policy = RetryPolicy(base_seconds=2.0, cap_seconds=10.0)
    for attempt, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (6, 10.0)):
        assert all(0 <= policy.delay(attempt) <= ceiling for _ in range(200))
    assert policy.delay(1, retry_after=30.0) == 30.0


def test_a_planned_message_is_pending_unless_the_planner_says_why_not():
    message = PlannedMessage("email", "order.ready", "transactional", "en", "a@b.test", "Ready", "Body")
    assert (message.status, message.error) == (PENDING, None)
