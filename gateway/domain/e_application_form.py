"""The «Электронное обращение» form (order 109, appendix), checked field by field.

The portal delivers what the citizen filled in; the gateway checks it again before a
case is opened, because a receiving body must refuse a form it cannot act on and tell
the portal why (order 109 p.10: the refusal goes to the citizen). Each problem names
the form's field, so the citizen and the portal know what to fix. Pure: the caller
passes the register and the result of the signature check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from contracts.iin import InvalidIIN, check_iin
from gateway.domain.public_services import Register, Routing

_PHONE = re.compile(r"\+7[0-9]{10}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

#: The form's required fields in its order, with their Russian labels.
REQUIRED = {
    "iin": "ИИН",
    "surname": "Фамилия",
    "name": "Имя",
    "email": "E-mail",
    "postal_address": "Почтовый адрес",
    "phone": "Телефон",
    "service_name": "Наименование государственной услуги",
    "region": "Регион",
    "recipient": "Получатель",
    "content": "Содержание",
    "signature": "ЭЦП",
}

Problem = tuple[str, str]


def normal_phone(value: str) -> str | None:
    digits = re.sub(r"[\s()\-]", "", value)
    if digits.startswith("8") and len(digits) == 11:
        digits = "+7" + digits[1:]
    return digits if _PHONE.fullmatch(digits) else None


def check_form(form: Mapping[str, Any], register: Register) -> tuple[list[Problem], Routing | None]:
    """Every problem of the form at once (field, reason), and its routing when it has one."""
    problems: list[Problem] = []
    for field, label in REQUIRED.items():
        value = form.get(field)
        if value is None or not str(value).strip():
            problems.append((field, f"is required («{label}»)"))
    iin = str(form.get("iin") or "")
    if iin:
        try:
            check_iin(iin)
        except InvalidIIN as error:
            problems.append(("iin", f"is not a valid IIN: {error}"))
    email = str(form.get("email") or "")
    if email and _EMAIL.fullmatch(email) is None:
        problems.append(("email", "is not an e-mail address"))
    phone = str(form.get("phone") or "")
    if phone and normal_phone(phone) is None:
        problems.append(("phone", "must be a Kazakhstan mobile number, +7 and 10 digits"))
    for index, attachment in enumerate(form.get("attachments") or ()):
        if not str(attachment.get("name") or "").strip():
            problems.append((f"attachments[{index}].name", "is required (document's name)"))
        pages = attachment.get("pages")
        if not isinstance(pages, int) or pages < 1:
            problems.append((f"attachments[{index}].pages", "must be a number of pages, 1 or more"))
    routing = None
    service_name = str(form.get("service_name") or "")
    service = register.service(service_name) if service_name else None
    if service_name and service is None:
        problems.append(("service_name", "is not in the register of public services"))
    region = str(form.get("region") or "")
    if region and register.region_code(region) is None:
        problems.append(("region", "is not a region of Kazakhstan known to the register"))
    if service is not None and region and register.region_code(region) is not None:
        routing = register.route(service, region)
        recipient = " ".join(str(form.get("recipient") or "").split())
        if (
            routing is not None
            and recipient
            and recipient.casefold() != routing.recipient.casefold()
        ):
            problems.append(
                (
                    "recipient",
                    f"the register names «{routing.recipient}» for this service and region",
                )
            )
    return problems, routing


#: The citizen reads the reasons in Russian; the API's errors keep them in English.
_REASONS_RU = (
    ("is required", "не заполнено"),
    ("is not a valid IIN", "неверный ИИН"),
    ("is not an e-mail address", "неверный адрес электронной почты"),
    ("must be a Kazakhstan mobile number", "нужен номер мобильного телефона: +7 и 10 цифр"),
    ("must be a number of pages", "укажите число листов, не меньше 1"),
    ("is not in the register of public services", "услуги нет в реестре государственных услуг"),
    ("is not a region of Kazakhstan", "неизвестный регион"),
    ("the register names", "по реестру государственных услуг получатель другой"),
    ("is not connected to the gateway", "отдел этого региона ещё не подключён"),
    ("is not connected", "отдел этого региона ещё не подключён"),
    ("must name the kind of referral", "укажите вид направления"),
)


def reason_ru(reason: str) -> str:
    for english, russian in _REASONS_RU:
        if english in reason:
            return russian
    return "подпись заявителя не принята" if "signature" in reason else reason


def refusal_text(problems: list[Problem]) -> str:
    """What the citizen reads: every field and why, in Russian."""
    parts = [
        f"«{REQUIRED.get(field.split('[')[0], field)}» — {reason_ru(reason)}"
        for field, reason in problems
    ]
    return "Заявление не принято к рассмотрению: " + "; ".join(parts) + "."
