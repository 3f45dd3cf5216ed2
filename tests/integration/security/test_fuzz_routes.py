"""Property-based tests over every route in the URL map (read at run time, so new routes are
covered): hostile values in every URL variable, as anonymous and as signed-in staff, and hostile
Host headers, never produce a server error."""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.app import create_app
from tests.support.nasty import budget, nasty_text
from tests.support.worlds import PASSWORD, build_world


@pytest.fixture(scope="module")
def site(config):
    app = create_app(config, process="web")
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    with app.app_context():
        world = build_world()
    staff = app.test_client()
    staff.post(f"/t/{world.tenant.slug}/console/sign-in", data={"email": world.admin.email, "password": PASSWORD})
    return app, world, {"anonymous": app.test_client(), "staff": staff}


@settings(max_examples=budget(500), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_url_values_never_cause_a_server_error(site, data):
    app, world, clients = site
    routes = sorted((r.rule, m) for r in app.url_map.iter_rules() for m in r.methods - {"HEAD", "OPTIONS"})
    rule_text, method = data.draw(st.sampled_from(routes), label="route")
    rule = next(r for r in app.url_map.iter_rules() if r.rule == rule_text)
    values = {}
    for var in rule.arguments:
        real = world.tenant.slug if var == "tenant" else str(world.room["id"]) if var == "room_id" else None
        values[var] = data.draw(st.one_of(st.just(real), nasty_text) if real else nasty_text, label=var)
    path = rule_text
    for var, value in values.items():
        path = re.sub(rf"<(\w+:)?{var}>", quote(value.encode("utf-8", "surrogatepass"), safe=""), path)
    who = data.draw(st.sampled_from(sorted(clients)), label="as")
    response = clients[who].open(path, method=method, data={"body": "x"} if method == "POST" else None)
    assert response.status_code < 500, f"{method} {path} as {who}: {response.status_code}"


@settings(max_examples=budget(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(host=st.one_of(nasty_text, st.sampled_from(["evil\x00.localhost", "a" * 3000 + ".example", "[::1]:80",
                                                   "[fe80::1%25eth0]", "xn--80ak6aa92e.com", "..", ".localhost"])))
def test_hostile_host_headers_never_cause_a_server_error(site, host):
    app, world, clients = site
    host = host.encode("latin-1", "replace").decode("latin-1").replace("\r", "").replace("\n", "")
    response = clients["anonymous"].get(f"/rooms/{world.room['id']}", headers={"Host": host})
    assert response.status_code < 500, f"Host {host!r}: {response.status_code}"
