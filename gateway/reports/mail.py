"""Where a digest goes: the console, an .eml file per centre and day, or an SMTP server.

Senders sit behind `DigestSender` so production can plug in SMTP while development and
tests keep files they can open in a mail client. Who receives a centre's digest is
configuration (`GATEWAY_DIGEST_RECIPIENTS`, a JSON file {"centre": ["head@example.kz"]}):
the staff table knows a centre's head but has no e-mail column. A centre missing from
the file is still written to the console or a file, addressed to its head by the centre's
name, so nothing is lost before the addresses are set up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import smtplib
import sys
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from gateway.config import Settings

log = logging.getLogger("gateway.digest")

NO_RECIPIENTS = "undisclosed-recipients:;"
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class Digest(Protocol):
    """What a sender needs of a digest (`gateway.reports.digest.Digest` is one).

    Declared here rather than imported, so mail depends on no report and the digest
    module depends on mail one way.
    """

    @property
    def centre(self) -> str: ...
    @property
    def generated_at(self) -> datetime: ...
    @property
    def day(self) -> date: ...
    @property
    def subject(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def html(self) -> str: ...


class DigestSender(Protocol):
    async def send(self, digest: Digest, recipients: Sequence[str]) -> None: ...


def load_recipients(path: Path | None) -> dict[str, list[str]]:
    """The recipients file, checked: a typo must fail at start, not silently drop mail."""
    if path is None:
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(document, dict):
        raise ValueError(f'{path}: expected an object {{"centre": ["head@example.kz"]}}')
    result: dict[str, list[str]] = {}
    for centre, addresses in document.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ValueError(f"{path}: '{centre}' must map to a list of e-mail addresses")
        bad = [a for a in addresses if not _ADDRESS.match(a)]
        if bad:
            raise ValueError(f"{path}: '{centre}' has addresses that are not e-mail: {bad}")
        result[str(centre)] = list(addresses)
    return result


def recipients_for(recipients: Mapping[str, Sequence[str]], centre: str) -> list[str]:
    return list(recipients.get(centre, ()))


def to_email(digest: Digest, recipients: Sequence[str], sender: str) -> EmailMessage:
    """Plain text with an HTML alternative: every client shows one of them."""
    message = EmailMessage()
    message["Subject"] = digest.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients) if recipients else NO_RECIPIENTS
    message["Date"] = format_datetime(digest.generated_at)
    message["Message-ID"] = make_msgid(domain="gateway.local")
    message["X-Gateway-Centre"] = digest.centre
    message.set_content(digest.text)
    message.add_alternative(digest.html, subtype="html")
    return message


def outbox_name(digest: Digest) -> str:
    return f"{digest.day.isoformat()}-{_UNSAFE.sub('_', digest.centre) or 'centre'}.eml"


class ConsoleSender:
    """Prints the digest: for `--dry-run` and for a terminal-only development setup."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, digest: Digest, recipients: Sequence[str]) -> None:
        stream = self._stream or sys.stdout
        to = ", ".join(recipients) or f"руководитель ЦПС «{digest.centre}» (адрес не настроен)"
        stream.write(f"Кому: {to}\nТема: {digest.subject}\n\n{digest.text}\n")
        stream.flush()


class FileSender:
    """Writes `<dir>/<date>-<centre>.eml`; a second send the same day replaces the file,
    so a retried run leaves one digest per centre and day."""

    def __init__(self, directory: Path, sender: str = "gateway@localhost") -> None:
        self.directory = directory
        self._sender = sender

    async def send(self, digest: Digest, recipients: Sequence[str]) -> None:
        data = to_email(digest, recipients, self._sender).as_bytes()
        # A conclusion names its own file, apart from the same day's digest.
        path = self.directory / str(getattr(digest, "file_name", None) or outbox_name(digest))
        await asyncio.to_thread(_write_atomically, path, data)
        log.info("digest for centre %s written to %s", digest.centre, path)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".eml.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


class SmtpSender:
    """Sends through an SMTP server; smtplib blocks, so it runs on a worker thread."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        user: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self._host, self._port = host, port
        self._sender = sender
        self._user, self._password = user, password
        self._starttls = starttls
        self._timeout = timeout

    async def send(self, digest: Digest, recipients: Sequence[str]) -> None:
        if not recipients:
            log.warning(
                "no e-mail address for centre %s in GATEWAY_DIGEST_RECIPIENTS; digest not sent",
                digest.centre,
            )
            return
        message = to_email(digest, recipients, self._sender)
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self._host, self._port, timeout=self._timeout) as smtp:
            if self._starttls:
                smtp.starttls()
            if self._user:
                smtp.login(self._user, self._password or "")
            smtp.send_message(message)


def sender_from_settings(settings: Settings) -> DigestSender:
    kind = settings.digest_sender.strip().lower()
    if kind == "console":
        return ConsoleSender()
    if kind == "file":
        return FileSender(settings.digest_outbox_dir, settings.digest_from)
    if kind == "smtp":
        return SmtpSender(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.digest_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )
    raise ValueError(f"GATEWAY_DIGEST_SENDER must be console, file or smtp, not '{kind}'")
