from tests.factories import make_order, make_store


def test_support_sees_the_stores_orders(client, login_as, store):
    order = make_order(store, number="#5001")
    login_as("support")
    assert "#5001" in client.get("/orders").get_data(as_text=True)
    assert client.get(f"/orders/{order.id}").status_code == 200


def test_order_of_another_store_answers_404(client, login_as, store):
    foreign = make_order(make_store("rival"), number="#9999")
    login_as("owner")
    assert client.get(f"/orders/{foreign.id}").status_code == 404
    assert "#9999" not in client.get("/orders").get_data(as_text=True)


def test_marketer_cannot_see_orders(client, login_as):
    login_as("marketer")
    assert client.get("/orders").status_code == 403
