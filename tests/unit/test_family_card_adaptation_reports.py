"""Order 170 p.37: a work report mirrored to the family card, through the card's client
against the mock card in-process: recorded once per idempotency key, a stranger refused."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from adapters.family_card import FamilyCardClient, HttpSettings, UpstreamRejected
from contracts.family_card.adaptation import AdaptationReportIn
from contracts.iin import make_iin
from mocks.admin import MockAdmin
from mocks.family_card import create_app
from tests.unit.test_family_card_mock import NOW, POPULATION


def report(iin: str) -> AdaptationReportIn:
    return AdaptationReportIn(
        report_id="rep-1",
        member_iin=iin,
        service_code=9,
        service_name_ru="Содействие в устройстве в школу",
        service_name_kk="Мектепке орналастыруға жәрдемдесу",
        done_on=date(2026, 11, 19),
        career_centre="cc_north_kazakhstan",
        media_urls=["http://gw/api/v1/media/" + "a" * 64],
    )


async def test_a_report_is_recorded_once_and_a_stranger_is_refused() -> None:
    admin = MockAdmin()
    admin.clock.set(NOW)
    app = create_app(POPULATION, admin)
    member = POPULATION.families[0].members[0]
    async with FamilyCardClient(
        HttpSettings(base_url="http://card", max_attempts=1),
        transport=httpx.ASGITransport(app=app),
    ) as card:
        first = await card.record_adaptation_report(report(member.iin), idempotency_key="k1")
        again = await card.record_adaptation_report(report(member.iin), idempotency_key="k1")
        assert first == again and first.family_id == POPULATION.families[0].id
        assert len(app.state.adaptation_reports) == 1
        stranger = make_iin(date(1931, 2, 3), "male", 9876)
        assert POPULATION.find(stranger) is None
        with pytest.raises(UpstreamRejected) as refused:
            await card.record_adaptation_report(report(stranger), idempotency_key="k2")
        assert "member_iin" in str(refused.value) or refused.value.status == 422
    assert len(app.state.adaptation_reports) == 1
