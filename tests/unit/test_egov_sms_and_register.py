"""The mock portal's SMS segment counting and its register of public services."""

from __future__ import annotations

import pytest

from mocks.egov import load_register, sms_cost


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("A" * 160, "GSM-7", 1),
        ("A" * 161, "GSM-7", 2),
        ("A" * 306, "GSM-7", 2),
        ("A" * 307, "GSM-7", 3),
        ("{" * 80, "GSM-7", 1),  # extension characters take two places
        ("{" * 81, "GSM-7", 2),
        ("Я" * 70, "UCS-2", 1),
        ("Я" * 71, "UCS-2", 2),
        ("Я" * 134, "UCS-2", 2),
        ("Я" * 135, "UCS-2", 3),
        ("Ok " + "ә", "UCS-2", 1),  # one Kazakh letter switches the whole text
        ("😀" * 35, "UCS-2", 1),  # outside the BMP: two units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    cost = sms_cost(text)
    assert (cost.encoding, cost.segments) == (encoding, segments)


def test_register_names_one_recipient_per_service_and_region() -> None:
    register = load_register()
    service = register.service("назначение   государственной адресной социальной помощи")
    assert service is not None and service.code == "109-15"
    assert register.recipient(service, "г. алматы") == (
        "Управление координации занятости и социальных программ — г. Алматы"
    )
    assert register.service("109-20") is not None
    assert register.service("Выдача справки о несудимости") is None
    assert len(register.regions) == 20
    assert not register.has_region("Нур-Султан")
