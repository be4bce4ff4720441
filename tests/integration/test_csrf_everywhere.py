"""Every state-changing dashboard route refuses a request without a valid CSRF token. The routes
come from the URL map, so a new one cannot escape; only the machine endpoints (signed webhooks,
API keys, provider callbacks, the storefront inbox) are exempt, and they take no session cookie,
and so is RFC 8058's one-click unsubscribe, which mail providers POST with no form token: its
signed link is the proof, and it can only opt the link's own customer out."""
from __future__ import annotations

EXEMPT = ("webhooks.", "api.", "callbacks.", "inbox.", "preferences.unsubscribe_now")


def state_changing_routes(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if not (rule.methods & {"POST", "PUT", "PATCH", "DELETE"}) or rule.endpoint.startswith(EXEMPT):
            continue
        values = {name: _sample(converter) for name, converter in rule._converters.items()}
        urls.append(app.url_map.bind("localhost").build(rule.endpoint, values, method="POST"))
    return sorted(set(urls))


def _sample(converter):
    """A value the converter accepts: 1 for ids, the first choice of an `any(...)`, else text."""
    kind = type(converter).__name__
    if kind == "IntegerConverter":
        return 1
    if kind == "AnyConverter":
        return sorted(converter.items)[0]
    return "x"


def test_every_state_changing_route_refuses_a_post_without_a_valid_token(app, client, login_as, store):
    login_as("owner")
    routes = state_changing_routes(app)
    assert {"/settings/notifications", "/logout", "/orders/1/send", "/settings/providers/1/remove"} <= set(routes)
    assert len(routes) >= 15
    for url in routes:
        for data in ({}, {"csrf_token": "forged"}):
            response = client.post(url, data=data, headers={"HX-Request": "true"})
            assert response.status_code == 400, (url, response.status_code)
            assert "security token" in response.get_data(as_text=True), url
    assert client.get("/").status_code == 200  # still signed in: the refused logout changed nothing
