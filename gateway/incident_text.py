"""An incident's error as staff read it: Russian or Kazakh, with the real delivery count.

The store keeps the error as the broker or the gateway stated it (English, stable, for
operators and logs: `delivery_limit after 6 deliveries`, a parse error from the status
collector). Staff see it in their language; anything not recognised is shown as it was
recorded, after a sentence in their language saying so, never silently dropped.
"""

from __future__ import annotations

import re

_DELIVERIES = re.compile(r"^delivery_limit after (\d+) deliveries$")
#: Written before the count was fixed: x-death's count (dead-letterings, not deliveries).
_OLD_DELIVERIES = re.compile(r"^delivery_limit after \d+ delivery attempt\(s\)$")

_TEXT = {
    "ru": {
        "deliveries": "Система органа не приняла сообщение: доставок — {n}, все неудачны; "
        "сообщение отложено.",
        "deliveries_unknown": "Система органа не приняла сообщение после нескольких попыток "
        "доставки; сообщение отложено.",
        "other": "Сообщение отложено; причина в записи брокера: {error}",
    },
    "kk": {
        "deliveries": "Орган жүйесі хабарламаны қабылдамады: жеткізу саны — {n}, бәрі сәтсіз; "
        "хабарлама кейінге қалдырылды.",
        "deliveries_unknown": "Орган жүйесі бірнеше жеткізу әрекетінен кейін хабарламаны "
        "қабылдамады; хабарлама кейінге қалдырылды.",
        "other": "Хабарлама кейінге қалдырылды; брокер жазбасындағы себеп: {error}",
    },
}


def incident_text(error: str | None, lang: str) -> str:
    words = _TEXT.get(lang, _TEXT["ru"])
    text = (error or "").strip()
    found = _DELIVERIES.match(text)
    if found:
        return words["deliveries"].format(n=found.group(1))
    if _OLD_DELIVERIES.match(text):
        return words["deliveries_unknown"]
    return words["other"].format(error=text or "—")


def delivery_count(error: str | None) -> int | None:
    found = _DELIVERIES.match((error or "").strip())
    return int(found.group(1)) if found else None
