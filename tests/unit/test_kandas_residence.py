"""p.45: what a person's registrations say about living in the settlement region."""

from __future__ import annotations

from datetime import date

from adapters.police_migration.residence import Registration
from gateway.services.kandas_monitoring import residence_answer

QUOTA, TODAY = date(2026, 11, 20), date(2027, 3, 1)


def reg(region: str, since: date, until: date | None = None) -> Registration:
    return Registration("permanent", region, "—", since, until)


def test_each_answer_from_the_registrations() -> None:
    settled = reg("Северо-Казахстанская область", date(2026, 12, 1))
    assert residence_answer([settled], "north_kazakhstan", QUOTA, TODAY) == "residing"
    kazakh = reg("Солтүстік Қазақстан облысы", date(2026, 12, 1))
    assert residence_answer([kazakh], "north_kazakhstan", QUOTA, TODAY) == "residing"
    moved = reg("Павлодарская область", date(2027, 2, 1))
    assert residence_answer([moved], "north_kazakhstan", QUOTA, TODAY) == "registered_elsewhere"
    old_home = reg("Туркестанская область", date(2009, 1, 1))
    assert (
        residence_answer([old_home], "north_kazakhstan", QUOTA, TODAY)
        == "not_registered_in_settlement"
    )
    ended = reg("Северо-Казахстанская область", date(2026, 12, 1), date(2027, 1, 1))
    assert residence_answer([ended], "north_kazakhstan", QUOTA, TODAY) == "no_current_registration"
    assert residence_answer([], "north_kazakhstan", QUOTA, TODAY) == "no_current_registration"
    # Settled and also a later temporary registration elsewhere: still living there.
    assert residence_answer([settled, moved], "north_kazakhstan", QUOTA, TODAY) == "residing"
