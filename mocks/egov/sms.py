"""How many SMS segments a text costs, the way an SMS centre counts them.

A text that fits the GSM 03.38 alphabet travels 7 bits a character: 160 in one
message, 153 a segment once it is split (the rest is the concatenation header), and
the extension characters (``{}[]~|^€\\``) take two places. Any other character, which
includes every Cyrillic and Kazakh letter, switches the whole text to UCS-2: 70 in
one message, 67 a segment. Characters outside the Basic Multilingual Plane (emoji)
take two UCS-2 units. The portal's notifications are mostly Cyrillic, so a text that
looks short can still cost three messages; the mock says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = "^{}\\[~]|€\f"
GSM_BASIC = frozenset(_GSM_BASIC)
GSM_EXTENDED = frozenset(_GSM_EXTENDED)

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, slots=True)
class SmsCost:
    encoding: Encoding
    units: int
    """Septets (GSM-7) or 16-bit code units (UCS-2) the text takes."""
    segments: int


def sms_cost(text: str) -> SmsCost:
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        units = sum(2 if c in GSM_EXTENDED else 1 for c in text)
        return SmsCost("GSM-7", units, _segments(units, single=160, multi=153))
    units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    return SmsCost("UCS-2", units, _segments(units, single=70, multi=67))


def _segments(units: int, *, single: int, multi: int) -> int:
    if units <= single:
        return 1
    return -(-units // multi)
