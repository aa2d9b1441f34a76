"""What the bodies' officials write: remarks of a return and reasons of a refusal.

The staff of the career centre read these on their pages, in Russian, so they read like
an official of the body wrote them, and each names what the step checks (order 170).
"""

from __future__ import annotations

_RETURN_REMARKS = {
    "lmc_review": "Не заполнены сведения о близких родственниках в ЦКС: "
    "укажите родителей и детей кандаса и приложите подтверждающие документы.",
    "leb_departure": "В заявлении не указан адрес проживания в регионе выбытия; "
    "уточните сведения и направьте заявление повторно.",
    "leb_settlement": "Не приложены сканы документов, подтверждающих родство, "
    "либо отсутствует согласие на сбор и обработку персональных данных.",
}
_DEFAULT_REMARKS = "Заявление возвращено на доработку: уточните сведения и направьте повторно."

_REFUSE_REASONS = {
    "cc_check": "Заявитель не относится к категории кандасов: "
    "статус кандаса не подтверждён сведениями миграционной службы.",
    "kandas_confirm": "Кандас отказался от переезда в регион расселения "
    "и от предложенных мер государственной поддержки.",
}
_DEFAULT_REFUSE = "Кандас отказался от дальнейшего участия в программе переселения."

FAULT_REMARKS = "Заявление возвращено на доработку по указанию администратора имитатора."
FAULT_REFUSAL = "Отказано по указанию администратора имитатора."


def return_remarks(step: str) -> str:
    return _RETURN_REMARKS.get(step, _DEFAULT_REMARKS)


def refuse_reason(step: str) -> str:
    return _REFUSE_REASONS.get(step, _DEFAULT_REFUSE)
