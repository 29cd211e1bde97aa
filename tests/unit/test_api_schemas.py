"""One definition per request body: what /openapi.json documents is what `shared.web.accepts` enforces."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from flask import Flask, jsonify

from shared.auth import issue_token
from shared.settings import Settings
from shared.web import create_service_app, document, query_arg
from tests.unit.fakes import FakeRevocations

SECRET = "s" * 40
SERVICES = ("intake", "scheduler", "notifier", "aggregator")
# Report bodies are checked against the unit's template, a schema built at request time (build_report_schema):
# their documented schema is the general shape, and the view validates the body itself.
TEMPLATE_BODIES = {"intake.post_report", "intake.put_report", "intake.put_draft"}


@pytest.fixture(scope="module")
def apps() -> dict[str, Flask]:
    """Every service's real app; no store is reachable and nothing here may need one (no rate limit counted)."""
    conf = Settings.from_env(
        {"DVCQ_SECRET": SECRET, "MONGO_URL": "mongodb://127.0.0.1:9/", "DVCQ_API_LIMIT_PER_SUBJECT": "0"}
    )
    apps = {name: importlib.import_module(f"services.{name}.app").create_app(conf) for name in SERVICES}
    for app in apps.values():
        app.extensions["dvcq.deps"].rt.revocations = FakeRevocations()  # the logouts, in memory
    return apps


def _operations(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    doc = app.test_client().get("/openapi.json").json
    return [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


def test_every_documented_request_body_is_the_schema_the_view_loads(apps: dict[str, Flask]) -> None:
    seen = set()
    for app in apps.values():
        for path, method, op in _operations(app):
            if "requestBody" not in op:
                continue
            endpoint = op["operationId"].removesuffix(f"_{method}")
            meta = app.view_functions[endpoint]._openapi
            documented = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            assert meta["request"].__name__.removesuffix("Schema") == documented, (path, method)
            assert meta["loads"] is (endpoint not in TEMPLATE_BODIES), f"{method} {path} does not load its body"
            seen.add(endpoint)
    assert TEMPLATE_BODIES < seen and {"scheduler.set_clock", "aggregator.export_period", "login.api_login"} & seen


def test_every_view_that_takes_a_body_documents_it(apps: dict[str, Flask]) -> None:
    for app in apps.values():
        for rule in app.url_map.iter_rules():
            view = app.view_functions[rule.endpoint]
            if getattr(view, "_openapi", {}).get("request") is not None:
                assert {"POST", "PUT", "PATCH"} & set(rule.methods or ()), rule.rule


def _bearer(role: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, sub='x@dvcq.vn', role=role, **claims)}"}


def test_a_body_the_documented_schema_refuses_is_422_naming_the_field(apps: dict[str, Flask]) -> None:
    answer = (
        apps["scheduler"]
        .test_client()
        .post(
            "/api/v1/obligations/H_CAUKE/2019-H1/extension-requests",
            json={"reason": "Lũ lụt", "proposed_date": "ngày mai", "extra": 1},
            headers=_bearer("agency", agency="H_CAUKE"),
        )
    )
    assert answer.status_code == 422
    assert answer.json["error"]["code"] == "invalid"
    assert answer.json["error"]["message"] == "Dữ liệu không hợp lệ."
    assert answer.json["error"]["fields"]["proposed_date"] == "Ngày hạn đề nghị (proposed_date): dạng YYYY-MM-DD."
    assert "extra" in answer.json["error"]["fields"]


def test_login_with_a_missing_field_is_422_in_vietnamese(apps: dict[str, Flask]) -> None:
    answer = apps["intake"].test_client().post("/api/v1/login", json={"email": "a@b.vn"})
    assert answer.status_code == 422
    assert answer.json["error"]["message"] == "Thông tin đăng nhập không hợp lệ."
    assert set(answer.json["error"]["fields"]) == {"password"}


def test_an_export_request_keeps_its_own_message_for_an_unknown_field(apps: dict[str, Flask]) -> None:
    answer = (
        apps["aggregator"]
        .test_client()
        .post("/api/v1/exports/2019-H1.csv", json={"signer": "Nguyễn Văn A", "colour": "đỏ"}, headers=_bearer("admin"))
    )
    assert answer.status_code == 422
    assert answer.json["error"]["fields"] == {"colour": "Trường không có trong yêu cầu phát hành văn bản."}


def test_a_view_may_read_only_the_query_parameters_it_documents() -> None:
    app = create_service_app("intake", Settings.from_env({"DVCQ_SECRET": SECRET}), None, ready_checks={})

    @app.get("/things")
    @document(query=("colour",))
    def things() -> object:
        return jsonify({"colour": query_arg("colour", "xanh")})

    @app.get("/sloppy")
    @document(query=("colour",))
    def sloppy() -> object:
        return jsonify({"size": query_arg("size")})

    client = app.test_client()
    assert client.get("/things?colour=đỏ").json == {"colour": "đỏ"}
    assert client.get("/things").json == {"colour": "xanh"}
    assert client.get("/sloppy?size=1").status_code == 500
    doc = client.get("/openapi.json").json
    assert [p["name"] for p in doc["paths"]["/things"]["get"]["parameters"]] == ["colour"]


def test_an_address_or_state_check_still_answers_before_the_body(apps: dict[str, Flask]) -> None:
    bad_format = (
        apps["aggregator"]
        .test_client()
        .post("/api/v1/exports/2019-H1.pdf", json={"colour": "đỏ"}, headers=_bearer("admin"))
    )
    assert bad_format.status_code == 404 and set(bad_format.json["error"]["fields"]) == {"ext"}
    system_clock = apps["scheduler"].test_client().post("/api/v1/clock", json={}, headers=_bearer("admin"))
    assert system_clock.status_code == 404  # no simulated clock to set, whatever the body says
