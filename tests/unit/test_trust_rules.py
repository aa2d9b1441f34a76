"""The pure trust rules: broker identities and the lookup purposes' consent."""

from __future__ import annotations

import dataclasses
import re

from gateway.broker.identity import body_of, body_permissions, body_user, reporting_body
from gateway.domain.lookup_purposes import (
    Purpose,
    Refusal,
    check_consent,
    check_purpose,
    load_purposes,
)


def test_the_body_comes_from_the_validated_user_never_the_message() -> None:
    user = body_user("gw", "health")
    assert body_of(user, "gw") == "health"
    assert body_of(user, "other") is None
    assert reporting_body(user, "health", "gw", required=True) == ("health", None)
    body, refused = reporting_body(user, "education", "gw", required=True)
    assert body is None and refused is not None and "may not report for 'education'" in refused
    # guest (or any user that is no body) is refused even where identities are optional
    assert reporting_body("guest", "health", "gw", required=False)[0] is None
    assert reporting_body(None, "health", "gw", required=True)[0] is None
    # unprovisioned bodies (no user_id at all) are taken only while not required
    assert reporting_body(None, "health", "gw", required=False) == ("health", None)


def test_a_body_may_read_only_its_queue_and_write_only_the_status_exchange() -> None:
    rules = body_permissions("t1.x", "health")
    assert rules.configure == "^$"
    assert re.match(rules.read, "t1.x.agency.health")
    assert not re.match(rules.read, "t1.x.agency.healthy")
    assert not re.match(rules.read, "t1.x.agency.education")
    assert not re.match(rules.read, "t1.x.status")
    assert re.match(rules.write, "t1.x.status")
    assert not re.match(rules.write, "t1.x.tasks")
    assert not re.match(rules.write, "t1Xx.status")  # the dot is literal


def test_every_lookup_names_a_known_purpose() -> None:
    purposes = load_purposes()
    assert {"ipr_monitoring", "kandas_application", "employment_referral"} <= set(purposes)
    missing = check_purpose(purposes, None, "centre")
    assert isinstance(missing, Refusal) and (missing.field, missing.status) == ("purpose", 422)
    unknown = check_purpose(purposes, "curiosity", "centre")
    assert isinstance(unknown, Refusal) and "unknown purpose" in unknown.reason
    admin = check_purpose(purposes, "ipr_monitoring", "admin")
    assert isinstance(admin, Refusal) and admin.status == 403
    assert isinstance(check_purpose(purposes, "ipr_monitoring", "centre"), Purpose)


def test_consent_fails_closed() -> None:
    purposes = load_purposes()
    kandas = purposes["kandas_application"]
    application = {
        "applicant_iin": "900101300011",
        "members": [{"iin": "920202400022"}],
        "consent": {"given": True, "signed_on": "2026-12-01", "document": "№ 1"},
    }
    assert check_consent(kandas, "920202400022", application) is None
    stranger = check_consent(kandas, "930303500033", application)
    assert stranger is not None and stranger.field == "iin"
    no_case = check_consent(kandas, "900101300011", None)
    assert no_case is not None and no_case.field == "case_id"
    withheld = check_consent(kandas, "900101300011", {**application, "consent": None})
    assert withheld is not None and (withheld.field, withheld.status) == ("consent", 403)
    refused = dict(application, consent={"given": False})
    assert check_consent(kandas, "900101300011", refused) is not None
    # An employment referral's consent covers its applicant only (seed 002 p.5.1).
    referral = purposes["employment_referral"]
    case = {"applicant_iin": "900101300011", "consent": application["consent"]}
    assert check_consent(referral, "900101300011", case) is None
    member = check_consent(referral, "920202400022", case)
    assert member is not None and member.field == "iin"
    unsigned = check_consent(referral, "900101300011", {**case, "consent": None})
    assert unsigned is not None and (unsigned.field, unsigned.status) == ("consent", 403)
    nameless = check_consent(referral, "900101300011", None)
    assert nameless is not None and nameless.field == "case_id"
    # A rule the gateway holds no consent for is refused whatever the case says.
    register = dataclasses.replace(referral, consent="register")
    held = check_consent(register, "900101300011", case)
    assert held is not None and held.field == "consent"
    assert check_consent(purposes["ipr_monitoring"], "900101300011", None) is None


def test_broker_passwords_never_look_like_an_option() -> None:
    from gateway.broker.provision import new_password

    assert all(not new_password().startswith("-") for _ in range(2000))
