"""The 25 services of order 170 appendix 1, as data, and the appendix 3 layout."""

from __future__ import annotations

import json

from mocks.kandas.services import SERVICES_PATH, load_services


def test_twenty_five_services_in_three_languages() -> None:
    services = load_services()
    assert [s.code for s in services] == list(range(1, 26))
    for s in services:
        assert s.name_ru and s.name_kk and s.name_en
        assert s.report_column == s.code + 2, "appendix 3: columns 3..27 are the services"
    # Scan artefacts must not survive into the data (Latin L in Cyrillic words, Ү for Ұ).
    names = " ".join(s.name_kk + " " + s.name_ru for s in services)
    for artefact in ("ЛЬ", "Күқық", "үйым", "қолтақба", "шенбер"):
        assert artefact not in names


def test_the_file_says_which_names_are_ours() -> None:
    sources = json.loads(SERVICES_PATH.read_text(encoding="utf-8"))["sources"]
    assert "OUR TRANSLATION" in sources["name_ru"]
    assert "seed 001" in sources["name_kk"]
