"""Logging that never writes a personal identifier in clear.

Every record passes through a filter that masks anything shaped like an IIN (twelve
digits standing alone), whatever the code that logged it meant to do.
"""

from __future__ import annotations

import logging
import re

from contracts.iin import mask_iin

_IIN_LIKE = re.compile(r"(?<!\d)\d{12}(?!\d)")


def mask_text(text: str) -> str:
    return _IIN_LIKE.sub(lambda m: mask_iin(m.group(0)), text)


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskPersonalData())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiormq").setLevel(logging.WARNING)
    logging.getLogger("aio_pika").setLevel(logging.WARNING)
