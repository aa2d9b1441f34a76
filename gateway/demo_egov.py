"""The e-government demos against a running system (`gateway up`).

- `gateway demo e-application` (order No. 109): a citizen files «Электронное обращение»
  on the mock portal; the gateway takes it in, the regional office forwards it to the
  district office of residence, the specialist asks the applicant a question and gives
  the result; the demo exits 0 when the portal shows the application answered and the
  citizen got exactly one cabinet notice and one SMS. A form with a bad IIN is also put
  in the portal's inbox and shown refused, naming the field.
- `gateway demo employment-referral` (seed 002): an unemployed citizen applies on the
  portal for a referral to public works, the standard's procedures are recorded against
  their minutes and the referral is issued as an e-document; a kandas applicant is
  refused on the portal, naming the rule; a complaint is registered with its 5 working
  days. Exit 0 when both results reached the portal.
- `gateway demo proactive-assistance` (order 109 p.12–18): an employment centre checks,
  with no application, whether a family still meets the criteria of targeted social
  assistance; every registry query with its purpose and legal ground, the per-capita
  income against the configured poverty line, the family told through the portal, the
  specialist's review. Exit 0 when the family was told and the case is closed.

The demos act as the people involved would: the citizen through the portal's public API,
the offices through the gateway's API with their development keys. The only thing done
through a mock's admin API is setting the scene: the kandas applicant's status in the
mock Kandas system, and the unchecked bad form in the mock portal's inbox.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from rich.console import Console

from contracts.signing import Signature, SignatureAlgorithm, canonical_form_bytes
from gateway.demo import (
    EXIT_COMPLETED,
    EXIT_SUBMIT_REFUSED,
    EXIT_TIMEOUT,
    EXIT_UNEXPECTED,
    EXIT_UNREACHABLE,
    HTTP_TIMEOUT_SECONDS,
    POLL_SECONDS,
    RUN_HINT,
)
from gateway.domain.public_services import load_register

ASP_SERVICE = "109-15"
REFERRAL_SERVICE = "002-01"


class DemoFailed(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def form_of(person: dict[str, Any], service_code: str, content: str) -> dict[str, Any]:
    register = load_register()
    service = register.service(service_code)
    assert service is not None, service_code
    routing = register.route(service, person["region"])
    assert routing is not None, person["region"]
    return {
        "iin": person["iin"],
        "surname": person["surname"],
        "name": person["name"],
        "patronymic": person.get("patronymic"),
        "email": "demo.citizen@example.kz",
        "postal_address": person["postal_address"],
        "phone": "+77010000001",
        "service_name": service.name,
        "region": routing.region_name,
        "recipient": routing.recipient,
        "content": content,
        "attachments": [{"name": "Удостоверение личности (демо)", "pages": 1}],
    }


def offices_for(person: dict[str, Any], service_code: str) -> tuple[str, str]:
    register = load_register()
    service = register.service(service_code)
    assert service is not None
    routing = register.route(service, person["region"])
    assert routing is not None
    return routing.regional_office, routing.district_office


async def _until(check: Callable[[], Awaitable[Any]], deadline: float, what: str) -> Any:
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoFailed(EXIT_TIMEOUT, f"не дождались: {what}")
        await asyncio.sleep(POLL_SECONDS)


class Demo:
    """The HTTP sides a demo talks to, and the console it tells."""

    def __init__(
        self,
        api_url: str,
        keys: dict[str, str],
        portal_url: str,
        console: Console,
        timeout: float,
        kandas_url: str | None = None,
        ca_url: str | None = None,
    ) -> None:
        self.api = httpx.AsyncClient(base_url=api_url, timeout=HTTP_TIMEOUT_SECONDS)
        self.ca = httpx.AsyncClient(
            base_url=ca_url or "http://127.0.0.1:8270", timeout=HTTP_TIMEOUT_SECONDS
        )
        self._keys: dict[str, tuple[rsa.RSAPrivateKey, str]] = {}
        self.portal = httpx.AsyncClient(base_url=portal_url, timeout=HTTP_TIMEOUT_SECONDS)
        self.kandas = (
            httpx.AsyncClient(base_url=kandas_url, timeout=HTTP_TIMEOUT_SECONDS)
            if kandas_url
            else None
        )
        self.keys = keys
        self.say = console.print
        self.deadline = time.monotonic() + timeout

    async def aclose(self) -> None:
        for client in (self.api, self.portal, self.kandas, self.ca):
            if client is not None:
                await client.aclose()

    def auth(self, office: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[office]}"}

    async def call(self, method: str, path: str, office: str, **kw: Any) -> dict[str, Any]:
        answer = await self.api.request(method, path, headers=self.auth(office), **kw)
        if answer.status_code >= 300:
            raise DemoFailed(
                EXIT_UNEXPECTED, f"{method} {path} ({office}): {answer.status_code} {answer.text}"
            )
        data: dict[str, Any] = answer.json()
        return data

    async def _citizen_key(self, form: dict[str, Any]) -> tuple[rsa.RSAPrivateKey, str]:
        """The citizen's own key and the certificate the mock CA issues for it (a CSR)."""
        iin = str(form["iin"])
        if iin not in self._keys:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            csr = (
                x509.CertificateSigningRequestBuilder()
                .subject_name(
                    x509.Name(
                        [
                            x509.NameAttribute(
                                NameOID.COMMON_NAME, f"{form['surname']} {form['name']}"
                            ),
                            x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IIN{iin}"),
                        ]
                    )
                )
                .sign(key, hashes.SHA256())
            )
            region = load_register().region_code(str(form["region"])) or "astana"
            issued = await self.ca.post(
                "/certificates",
                json={
                    "csr": csr.public_bytes(serialization.Encoding.PEM).decode(),
                    "body": "citizen",
                    "role": "citizen",
                    "region": region,
                    "iin": iin,
                },
            )
            if issued.status_code != 201:
                raise DemoFailed(EXIT_UNEXPECTED, f"УЦ не выдал сертификат: {issued.text}")
            self._keys[iin] = (key, issued.json()["certificate"])
        return self._keys[iin]

    async def signed(self, form: dict[str, Any]) -> dict[str, Any]:
        """The form with the citizen's ЭЦП over its canonical bytes (order 109 p.4)."""
        key, certificate = await self._citizen_key(form)
        value = key.sign(canonical_form_bytes(form), padding.PKCS1v15(), hashes.SHA256())
        signature = Signature(
            algorithm=SignatureAlgorithm.rsa_sha256,
            certificate=certificate,
            value=base64.b64encode(value).decode(),
        )
        return {**form, "signature": signature.model_dump_json()}

    async def file(self, form: dict[str, Any]) -> dict[str, Any]:
        form = await self.signed(form)
        answer = await self.portal.post(
            "/api/v1/appeals", json=form, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        if answer.status_code != 201:
            raise DemoFailed(EXIT_SUBMIT_REFUSED, f"портал не принял: {answer.text}")
        appeal: dict[str, Any] = answer.json()
        self.say(f"портал: заявление {appeal['number']} подано ({form['service_name'][:60]}…)")
        return appeal

    async def case_of(self, appeal_id: str, office: str) -> dict[str, Any]:
        """The gateway's case of a portal application, from the office's inbox."""

        async def find() -> dict[str, Any] | None:
            inbox = await self.call("GET", "/api/v1/e-government/cases", office)
            for item in inbox["items"]:
                case = await self.call(
                    "GET", f"/api/v1/e-government/cases/{item['case_id']}", office
                )
                if (case["document"].get("appeal") or {}).get("id") == appeal_id:
                    return case
            return None

        found: dict[str, Any] = await _until(find, self.deadline, "шлюз примет заявление с портала")
        return found

    async def appeal(self, appeal_id: str) -> dict[str, Any]:
        data: dict[str, Any] = (await self.portal.get(f"/api/v1/appeals/{appeal_id}")).json()
        return data

    async def told(self, appeal_id: str | None, iin: str) -> tuple[list[Any], list[Any]]:
        box = (await self.portal.get("/__admin/outbox")).json()
        if appeal_id is not None:
            cabinet = [c for c in box["cabinet"] if c["notification"].get("appeal_id") == appeal_id]
            sms = [s for s in box["sms"] if s["sms"].get("appeal_id") == appeal_id]
        else:
            cabinet = [c for c in box["cabinet"] if c["notification"]["iin"] == iin]
            sms = [s for s in box["sms"] if s["sms"].get("appeal_id") is None]
        return cabinet, sms

    async def portal_outcome(self, appeal_id: str, status: str) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            appeal = await self.appeal(appeal_id)
            cabinet, sms = await self.told(appeal_id, appeal["form"]["iin"])
            return appeal if appeal["status"] == status and cabinet and sms else None

        found: dict[str, Any] = await _until(done, self.deadline, f"портал покажет «{status}»")
        await asyncio.sleep(1.0)  # anything sent twice would arrive by now
        cabinet, sms = await self.told(appeal_id, found["form"]["iin"])
        if len(cabinet) != 1 or len(sms) != 1:
            raise DemoFailed(
                EXIT_UNEXPECTED,
                f"уведомлений должно быть по одному: кабинет {len(cabinet)}, SMS {len(sms)}",
            )
        self.say(
            f"портал: {found['number']} — {found['status']}; в личный кабинет и SMS по одному "
            f"уведомлению: «{cabinet[0]['notification']['text'][:120]}»"
        )
        return found

    def steps(self, case: dict[str, Any]) -> None:
        for step in case["steps"]:
            due = (step["due_at"] or "")[:16].replace("T", " ")
            met = "выполнен" if step["met_at"] else "открыт"
            late = ", просрочен" if step["breached_at"] else ""
            self.say(f"  шаг {step['step']:<18} {step['body']:<16} срок до {due} UTC, {met}{late}")


async def e_application(demo: Demo, sample: dict[str, Any]) -> int:
    person = sample["applicant"]
    regional, district = offices_for(person, ASP_SERVICE)
    appeal = await demo.file(
        form_of(person, ASP_SERVICE, "Прошу назначить адресную социальную помощь семье.")
    )
    case = await demo.case_of(appeal["id"], regional)
    demo.say(
        f"шлюз: дело {case['id']}; получатель по реестру госуслуг: "
        f"{case['document']['routing']['recipient']}; ЭЦП заявителя: "
        f"{case['document']['signature']['status']}"
    )
    await demo.call("POST", f"/api/v1/e-applications/{case['id']}/forward", regional)
    demo.say(f"{regional}: направлено в районный отдел {district} (п.5, 2 рабочих дня)")
    await demo.call(
        "POST",
        f"/api/v1/e-applications/{case['id']}/contacts",
        district,
        json={"channel": "phone", "question": "Уточните число членов семьи", "answer": "4"},
    )
    demo.say(f"{district}: вопрос заявителю по телефону записан в хронологию (п.7)")
    case = await demo.call(
        "POST",
        f"/api/v1/e-applications/{case['id']}/check",
        district,
        json={"decision": "forward", "result": "Документы соответствуют стандарту; АСП назначена."},
    )
    demo.steps(case)
    await demo.portal_outcome(appeal["id"], "answered")

    bad = dict(
        await demo.signed(form_of(person, ASP_SERVICE, "Заявление с ошибкой")),
        iin="123456789012",
        email="",
    )
    put = await demo.portal.post("/__admin/appeals/unchecked", json=bad)
    if put.status_code == 201:
        bad_id = put.json()["id"]

        async def refused() -> dict[str, Any] | None:
            found = await demo.appeal(bad_id)
            return found if found["status"] == "refused" else None

        shown = await _until(refused, demo.deadline, "отказ по неверной форме")
        demo.say(f"неверная форма {shown['number']}: отказ — «{shown['result'][:160]}»")
    return EXIT_COMPLETED


async def employment_referral(demo: Demo, sample: dict[str, Any]) -> int:
    applicant, kandas = sample["unemployed"][0], sample["unemployed"][1]
    _, district = offices_for(applicant, REFERRAL_SERVICE)
    appeal = await demo.file(
        form_of(applicant, REFERRAL_SERVICE, "Прошу направление на общественные работы")
    )
    if demo.kandas is None:
        raise DemoFailed(EXIT_UNEXPECTED, "the Kandas system's address is needed")
    granted = await demo.kandas.put(
        f"/__admin/kandas-status/{kandas['iin']}", json={"holds_status": True}
    )
    if granted.status_code != 200:
        raise DemoFailed(EXIT_UNEXPECTED, f"mock Kandas system: {granted.text}")
    demo.say("сцена: второму заявителю присвоен статус кандаса в АИС «Кандас» (мок)")
    refused_appeal = await demo.file(
        form_of(kandas, REFERRAL_SERVICE, "Прошу направление для трудоустройства")
    )

    case = await demo.case_of(appeal["id"], district)
    facts = case["document"]["facts"]
    demo.say(
        f"шлюз: дело {case['id']}, вид: {case['document']['kind']['ru']}; "
        f"безработный — {facts['registration']['status']} ({facts['registration']['source']}); "
        f"статус кандаса — {facts['kandas_status']['holds_status']} "
        f"({facts['kandas_status']['source']})"
    )
    for code in ("accept", "to_head", "assign", "review", "sign"):
        row = await demo.call(
            "POST",
            f"/api/v1/employment-referrals/{case['id']}/procedure",
            district,
            json={"step": code},
        )
        demo.say(
            f"  {row['ru']}: {row['minutes']} мин при норме {row['norm_minutes']} "
            f"({'в норме' if row['within_norm'] else 'сверх нормы'})"
        )
    decided = await demo.call(
        "POST",
        f"/api/v1/employment-referrals/{case['id']}/decision",
        district,
        json={"decision": "issue"},
    )
    document = decided["document"]
    demo.say(
        f"выдано: {document['document']} № {document['number']}, SHA-256 {document['sha256'][:16]}…"
    )
    await demo.portal_outcome(appeal["id"], "answered")

    refusal = await demo.portal_outcome(refused_appeal["id"], "refused")
    if "оралман" not in (refusal.get("result") or ""):
        raise DemoFailed(EXIT_UNEXPECTED, f"отказ не называет правило: {refusal.get('result')}")
    demo.say("кандасу на портале отказано со ссылкой на правило стандарта")

    complaint = await demo.call(
        "POST",
        f"/api/v1/e-government/cases/{case['id']}/complaints",
        district,
        json={"to": "provider", "text": "Прошу пересмотреть вид направления"},
    )
    view = await demo.call("GET", f"/api/v1/e-government/cases/{case['id']}", district)
    term = next(s for s in view["steps"] if s["id"] == complaint["task_id"])
    demo.say(f"жалоба зарегистрирована: ответ до {term['due_at'][:16]} UTC (5 рабочих дней)")
    return EXIT_COMPLETED


async def proactive_assistance(demo: Demo, sample: dict[str, Any]) -> int:
    family = sample["proactive_family"]
    region = load_register().region_code(family["region"])
    centre = f"czn_{region}"
    case = await demo.call(
        "POST",
        "/api/v1/proactive-assistance/checks",
        centre,
        json={
            "applicant_iin": family["applicant_iin"],
            "members": family["members"],
            "phone": "+77010000002",
        },
    )
    document = case["document"]
    for query in document["queries"][:6]:
        demo.say(f"  запрос: {query['registry']} — {query['purpose']} ({query['legal_ground']})")
    demo.say(f"  … всего запросов: {len(document['queries'])}, у каждого цель и правовое основание")
    result = document["assessment"]
    if not result["concluded"]:
        missing = "; ".join(f"{m['source']} ({m['fact']})" for m in result["missing"])
        raise DemoFailed(EXIT_UNEXPECTED, f"проверка не завершена: нет сведений: {missing}")
    verdict = "ниже" if result["eligible_by_income"] else "не ниже"
    demo.say(
        f"среднедушевой доход {result['per_capita_income']} тг {verdict} черты бедности "
        f"{result['poverty_line']} тг ({result['threshold']['poverty_line_percent']} % ПМ "
        f"{result['threshold']['subsistence_minimum']} тг; источник: "
        f"{result['threshold']['sources'][1][:80]}…)"
    )

    async def told() -> bool:
        cabinet, _ = await demo.told(None, family["applicant_iin"])
        return any("Адресная социальная помощь" in c["notification"]["title"] for c in cabinet)

    await _until(told, demo.deadline, "уведомление семьи в личном кабинете")
    demo.say("семья уведомлена в личном кабинете и по SMS")
    closed = await demo.call(
        "POST",
        f"/api/v1/proactive-assistance/checks/{case['id']}/review",
        centre,
        json={"text": "Сведения проверены, состав семьи не изменился"},
    )
    demo.say(f"специалист {centre}: рассмотрено, дело {closed['status']}")
    return EXIT_COMPLETED if closed["status"] == "completed" else EXIT_UNEXPECTED


DEMOS = {
    "e-application": e_application,
    "employment-referral": employment_referral,
    "proactive-assistance": proactive_assistance,
}


async def run_egov_demo(
    name: str,
    api_url: str,
    keys: dict[str, str],
    portal_url: str,
    sample: dict[str, Any],
    timeout: float,  # noqa: ASYNC109  (a deadline for the whole demo, not for one call)
    *,
    kandas_url: str | None = None,
    ca_url: str | None = None,
    console: Console | None = None,
) -> int:
    console = console or Console()
    demo = Demo(api_url, keys, portal_url, console, timeout, kandas_url, ca_url)
    try:
        return await DEMOS[name](demo, sample)
    except DemoFailed as failure:
        console.print(f"[red]{failure}[/]")
        return failure.code
    except httpx.TransportError as error:
        console.print(f"[red]нет связи: {error}[/]; {RUN_HINT}")
        return EXIT_UNREACHABLE
    finally:
        await demo.aclose()
