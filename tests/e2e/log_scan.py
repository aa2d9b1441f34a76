"""Scanning the logs of an end-to-end run for IINs written in clear (issue 15).

Every process of the run (the gateway and the mock systems) logs to a file under the run's
directory. A twelve-digit run that is a valid IIN, standing alone, is personal data in clear.
"""

from __future__ import annotations

import re
from pathlib import Path

from contracts.iin import InvalidIIN, check_iin, mask_iin

_TWELVE = re.compile(r"(?<!\d)\d{12}(?!\d)")


def unmasked_iins(root: Path) -> list[str]:
    """`file:line: masked-iin` for each IIN in clear in a log under `root`."""
    found: list[str] = []
    for path in sorted(root.rglob("*.log")):
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for match in _TWELVE.finditer(line):
                try:
                    check_iin(match.group(0))
                except InvalidIIN:
                    continue
                found.append(f"{path.relative_to(root)}:{number}: {mask_iin(match.group(0))}")
    return found
