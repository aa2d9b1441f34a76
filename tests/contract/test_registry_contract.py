"""Every message of the new registry services obeys ``contracts/shep``, and says the truth.

The pattern of ``test_shep_contract.py``: the typed clients talk to the mock bus
in-process (httpx's ASGI transport), then each message in the mock's journal, both
directions, is checked against the XSDs, payload included. Each answer is also compared
with the population it came from, so a schema-valid answer with wrong facts fails too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from lxml import etree

from adapters.shep import (
    AspFactsClient,
    CivilRegistryClient,
    GuardianshipClient,
    IndividualsClient,
    MigrationPoliceClient,
    QueryGround,
    RsaSigner,
    ShepError,
    ShepSettings,
    SupremeCourtClient,
    SyncChannelClient,
    TrustStore,
    generate_rsa_credentials,
)
from contracts.shep import (
    ASP_NS,
    EOPEKA_NS,
    GBDFL_NS,
    MIGRATION_NS,
    SUPREME_COURT_NS,
    ZAGS_NS,
    bus_schema,
    codes,
    load_services,
)
from contracts.shep.wsse import NS_SOAP11
from mocks.population import Population, generate_population
from mocks.shep import BusConfig, Journal, SenderAccount, create_app
from mocks.shep.asp_registries import AspFacts
from mocks.shep.wsse import KeyPair

ADDRESS = "http://bus.test/bip-sync-wss-gost/"
PAYLOAD_NAMESPACES = {GBDFL_NS, ZAGS_NS, EOPEKA_NS, SUPREME_COURT_NS, MIGRATION_NS, ASP_NS}


@pytest.fixture(scope="module")
def keys() -> tuple[KeyPair, RsaSigner]:
    return KeyPair.generate("bus"), generate_rsa_credentials("gateway")


@pytest.fixture(scope="module")
def population() -> Population:
    return generate_population(42)


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
async def channel(
    keys: tuple[KeyPair, RsaSigner], population: Population, journal: Journal
) -> AsyncIterator[SyncChannelClient]:
    bus_key, client_key = keys
    account = SenderAccount("GW", "secret", (client_key.certificate_der,))
    app = create_app(
        population, BusConfig(signer=bus_key, senders={"GW": account}), journal=journal
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        settings = ShepSettings(address=ADDRESS, sender_id="GW", password="secret")
        trust = TrustStore([bus_key.certificate_der])
        async with SyncChannelClient(settings, client_key, trust, http=http) as client:
            yield client


def payloads(raw: bytes) -> list[etree._Element]:
    envelope = etree.fromstring(raw)
    body = envelope.find(f"{{{NS_SOAP11}}}Body")
    assert body is not None
    (content,) = [c for c in body if isinstance(c.tag, str)]
    schema = bus_schema()
    if content.tag == f"{{{NS_SOAP11}}}Fault":
        (error,) = content.findall("detail/*")
        assert schema.validate(error), schema.error_log
        return []
    assert schema.validate(content), schema.error_log
    found: list[etree._Element] = list(content.findall("*/*/data/*"))
    for payload in found:
        # Lax processing skips what it does not know: insist that it knew the payload.
        assert etree.QName(payload).namespace in PAYLOAD_NAMESPACES, payload.tag
        assert schema.validate(payload), schema.error_log
    return found


async def test_every_new_request_and_answer_validates_and_matches_the_population(
    channel: SyncChannelClient, population: Population, journal: Journal
) -> None:
    civil = CivilRegistryClient(channel)
    opeka = GuardianshipClient(channel)
    court = SupremeCourtClient(channel)
    police = MigrationPoliceClient(channel)
    people = population

    for family in people.families:
        for member in family.members:
            expected_birth = people.birth_of_child(member.iin)
            birth = await civil.birth_of_child(member.iin)
            assert (birth.number if birth else None) == (
                expected_birth.number if expected_birth else None
            )
            by_parent = await civil.births_by_parent(member.iin)
            assert {b.child.iin for b in by_parent} == {
                r.child_iin for r in people.births_by_parent(member.iin)
            }
            marriages = await civil.marriages_of(member.iin)
            expected = sorted(people.marriages_of(member.iin), key=lambda r: r.registered)
            assert [m.number for m in marriages] == [r.number for r in expected]
            death = await civil.death_of(member.iin)
            assert (death.death_date if death else None) == member.death_date
            registrations = await police.registrations_of(member.iin)
            assert [r.kind for r in registrations] == [
                r.kind for r in people.registrations_of(member.iin)
            ]

    fatherless = await civil.birth_of_child(people.fatherless_child_iin)
    assert fatherless is not None and fatherless.father is None and fatherless.mother is not None

    (decision,) = await opeka.decisions_for_child(people.guarded_child_iin)
    assert decision.guardian.iin == people.guardianships[0].guardian_iin
    assert await opeka.decisions_by_guardian(decision.guardian.iin) == (decision,)
    assert await opeka.decisions_for_child(people.adopted_child_iin) == ()

    (adoption,) = await court.adoptions_of_child(people.adopted_child_iin)
    assert {p.iin for p in adoption.adoptive_parents} == set(
        people.adoptions[0].adoptive_parent_iins
    )
    assert await court.adoptions_of_child(people.guarded_child_iin) == ()

    (temporary,) = await police.registrations_of(people.kandas_without_registration_iin)
    assert temporary.kind == "TEMPORARY" and temporary.registered_until is not None
    assert await police.registrations_of(people.absent_iin) == ()
    person = await IndividualsClient(channel).person_by_iin(people.kandas_without_registration_iin)
    assert person is not None and person.permanent_address is None

    await _asp_facts_match_the_population(channel, people)

    entries = journal.entries()
    assert {e.status_code for e in entries} == {codes.SUCCESS, codes.NOT_FOUND}
    used = {e.service_id for e in entries}
    assert used == {s.service_id for s in load_services()}
    for entry in entries:
        payloads(entry.request)
        payloads(entry.response)


async def _asp_facts_match_the_population(channel: SyncChannelClient, people: Population) -> None:
    """The proactive check's registries (order 109 p.13) answer from the same people."""
    asp = AspFactsClient(channel)
    facts = AspFacts(people)
    ground = QueryGround("проверка контракта", "тест")
    seen = {"property": 0, "vehicle": 0, "plot": 0, "alimony": 0, "income": 0}
    for family in people.families:
        for member in family.members:
            estate = await asp.real_estate(member.iin, ground)
            assert [p.cadastral_number for p in estate] == [
                p.cadastral_number for p in facts.properties(member.iin)
            ]
            vehicles = await asp.vehicles(member.iin, ground)
            assert [v.plate for v in vehicles] == [v.plate for v in facts.vehicles(member.iin)]
            plots = await asp.household_plots(member.iin, ground)
            assert len(plots) == len(facts.plots(member.iin))
            alimony = await asp.alimony(member.iin, ground)
            assert [a.monthly_amount for a in alimony] == [
                a.monthly_amount for a in facts.alimony(member.iin)
            ]
            paid = await asp.pension_contributions(member.iin, "2026-07", "2026-09", ground)
            expected = [facts.monthly_income(member.iin, date(2026, m, 1)) for m in (7, 8, 9)]
            assert [c.income for c in paid] == [i for i in expected if i]
            assert all(c.amount == c.income // 10 for c in paid)
            seen["property"] += len(estate)
            seen["vehicle"] += len(vehicles)
            seen["plot"] += len(plots)
            seen["alimony"] += len(alimony)
            seen["income"] += len(paid)
    assert all(seen.values()), seen  # the population has some of each
    assert await asp.real_estate(people.absent_iin, ground) == ()


@pytest.mark.parametrize(
    ("service_id", "ns", "request_name", "key"),
    [
        ("ZAGS_BirthRecords", ZAGS_NS, "BirthRecordsRequest", "childIin"),
        ("ZAGS_MarriageRecords", ZAGS_NS, "MarriageRecordsRequest", "iin"),
        ("ZAGS_DeathRecord", ZAGS_NS, "DeathRecordRequest", "iin"),
        ("EOPEKA_GuardianshipDecisions", EOPEKA_NS, "GuardianshipDecisionsRequest", "guardianIin"),
        ("VS_AdoptionDecisions", SUPREME_COURT_NS, "AdoptionDecisionsRequest", "childIin"),
        ("MVD_ResidenceRegistrations", MIGRATION_NS, "ResidenceRegistrationsRequest", "iin"),
        ("GBDRN_RealEstateRights", ASP_NS, "RealEstateRequest", "iin"),
        ("MVD_VehicleRegistrations", ASP_NS, "VehiclesRequest", "iin"),
        ("LPH_HouseholdBook", ASP_NS, "HouseholdPlotRequest", "iin"),
        ("AISOIP_AlimonyOrders", ASP_NS, "AlimonyRequest", "iin"),
    ],
)
async def test_a_wrong_control_digit_is_refused_by_every_registry(
    channel: SyncChannelClient,
    journal: Journal,
    service_id: str,
    ns: str,
    request_name: str,
    key: str,
) -> None:
    payload = etree.Element(f"{{{ns}}}{request_name}")
    etree.SubElement(payload, f"{{{ns}}}{key}").text = "900101300018"
    with pytest.raises(ShepError) as caught:
        await channel.send(service_id, payload)
    assert caught.value.code == codes.INVALID_DATA
    (entry,) = journal.entries()
    assert payloads(entry.request)
    assert payloads(entry.response) == []


async def test_a_birth_request_with_both_keys_breaks_the_contract(
    channel: SyncChannelClient, journal: Journal, population: Population
) -> None:
    # A birth request may carry a child or a parent, never both.
    payload = etree.Element(f"{{{ZAGS_NS}}}BirthRecordsRequest")
    etree.SubElement(payload, f"{{{ZAGS_NS}}}childIin").text = population.fatherless_child_iin
    etree.SubElement(payload, f"{{{ZAGS_NS}}}parentIin").text = population.remarried_iin
    with pytest.raises(ShepError) as caught:
        await channel.send("ZAGS_BirthRecords", payload)
    assert caught.value.code == codes.INVALID_REQUEST
