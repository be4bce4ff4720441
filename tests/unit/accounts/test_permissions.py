import pytest

from webapp.accounts import permissions as p


@pytest.mark.parametrize("permission", [p.MANAGE_SETTINGS, p.VIEW_AUDIT, p.VIEW_ORDERS, p.EDIT_TEMPLATES])
def test_owner_can_do_everything(permission):
    assert p.role_can(p.OWNER, permission)


def test_support_sees_orders_and_sends_notifications_but_not_settings():
    assert p.role_can(p.SUPPORT, p.VIEW_ORDERS)
    assert p.role_can(p.SUPPORT, p.SEND_NOTIFICATIONS)
    assert not p.role_can(p.SUPPORT, p.MANAGE_SETTINGS)
    assert not p.role_can(p.SUPPORT, p.EDIT_TEMPLATES)


def test_marketer_edits_marketing_but_not_settings_or_orders():
    assert p.role_can(p.MARKETER, p.EDIT_CAMPAIGNS)
    assert p.role_can(p.MARKETER, p.EDIT_PROMOTIONS)
    assert not p.role_can(p.MARKETER, p.MANAGE_SETTINGS)
    assert not p.role_can(p.MARKETER, p.VIEW_ORDERS)


def test_unknown_role_can_do_nothing():
    assert not p.role_can("intern", p.VIEW_ORDERS)
