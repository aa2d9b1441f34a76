"""Signing a hand-over in headless Chromium with the key files the mock CA issued, as a
staff member does with NCALayer: the browser signs, the server verifies with
`verify_handover`; a tampered remark, another body's key and a key that does not match
its certificate all fail, each where it should."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.clock import SystemClock
from gateway.signatures import Refusal, TrustAnchors
from mocks.ca import CaState, officials_index
from tests.browser.sign_page import REMARKS, Served, SignPage, Submission, create_app
from tests.e2e.system import free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca")
    CaState(path, seed=42, clock=SystemClock())
    return path


@pytest.fixture(scope="module")
def site(ca_dir: Path) -> Iterator[SignPage]:
    submissions: list[Submission] = []
    port = free_port()
    app = create_app(TrustAnchors.from_file(ca_dir / "root.pem"), submissions)
    with Served(app, port):
        yield SignPage(f"http://127.0.0.1:{port}", submissions)


def official(ca_dir: Path, login: str) -> dict[str, Any]:
    return next(o for o in officials_index(ca_dir) if o["login"] == login)


def files(ca_dir: Path, login: str) -> tuple[str, str]:
    folder = ca_dir / "officials"
    return str(folder / f"{login}.key.pem"), str(folder / f"{login}.cert.pem")


def open_and_choose(page: Any, site: SignPage, key: str, cert: str) -> list[str]:
    """Open the page with the files chosen; the console's errors are collected."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{site.url}/sign")
    page.get_by_label("Файл закрытого ключа (PKCS#8, PEM)").set_input_files(key)
    page.get_by_label("Файл сертификата (PEM)").set_input_files(cert)
    return errors


def submit_and_read(page: Any) -> str:
    page.get_by_role("button", name="Подписать и отправить").click()
    result = page.locator("#result")
    result.wait_for(timeout=15_000)
    reason: str = result.get_attribute("data-reason")
    return reason


def test_a_head_signs_the_return_with_their_own_key(
    chromium: Any, site: SignPage, ca_dir: Path, screenshots: Path
) -> None:
    head = official(ca_dir, "lmc_turkestan_head")
    page = chromium.new_page()
    errors = open_and_choose(page, site, *files(ca_dir, "lmc_turkestan_head"))
    page.locator("#sign-statement summary").click()
    assert REMARKS in page.locator("[data-sign-text]").inner_text()
    page.screenshot(path=str(screenshots / "sign-widget-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(screenshots / "sign-widget-390.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    before = len(site.submissions)

    assert submit_and_read(page) == "ok"
    assert page.locator("#result").inner_text() == head["full_name"]
    submission = site.submissions[-1]
    assert len(site.submissions) == before + 1
    assert submission.signer is not None and submission.refusal is None
    assert (submission.signer.iin, submission.signer.body, submission.signer.role) == (
        head["iin"],
        "lmc_turkestan",
        "head",
    )
    assert submission.signer.serial == head["serial"]
    assert submission.form["signature_algorithm"] == "RSA-SHA256"
    certificate = Path(files(ca_dir, "lmc_turkestan_head")[1]).read_text()
    assert submission.form["signature_certificate"].split() == certificate.split()
    # The key file's input has no name: the private key never reaches the server.
    assert not any("PRIVATE KEY" in value for value in submission.form.values())
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_remark_changed_after_signing_fails_verification(
    chromium: Any, site: SignPage, ca_dir: Path
) -> None:
    page = chromium.new_page()
    open_and_choose(page, site, *files(ca_dir, "lmc_turkestan_head"))
    # What reaches the server differs from the bytes the official signed.
    page.evaluate(
        "() => { document.querySelector('input[name=remarks]').value = 'Замечаний нет'; }"
    )
    assert submit_and_read(page) == Refusal.invalid_signature.value
    assert "Подпись не соответствует данным передачи" in page.locator("#result").inner_text()
    refusal = site.submissions[-1].refusal
    assert refusal is not None and refusal.reason is Refusal.invalid_signature
    assert site.submissions[-1].form["remarks"] == "Замечаний нет"


def test_an_official_of_another_body_is_refused(
    chromium: Any, site: SignPage, ca_dir: Path
) -> None:
    page = chromium.new_page()
    open_and_choose(page, site, *files(ca_dir, "cc_turkestan_head"))
    assert submit_and_read(page) == Refusal.body_mismatch.value
    assert "cc_turkestan" in page.locator("#result").inner_text()


def test_a_key_that_is_not_the_certificates_is_caught_before_sending(
    chromium: Any, site: SignPage, ca_dir: Path
) -> None:
    key, _ = files(ca_dir, "lmc_turkestan_head")
    _, other_cert = files(ca_dir, "lmc_turkestan_specialist")
    page = chromium.new_page()
    open_and_choose(page, site, key, other_cert)
    before = len(site.submissions)
    page.get_by_role("button", name="Подписать и отправить").click()
    status = page.locator("[data-sign-status]")
    status.filter(has_text="Ключ не соответствует сертификату").wait_for(timeout=15_000)
    assert page.url.endswith("/sign")
    assert len(site.submissions) == before
    assert page.locator("input[name=signature_value]").input_value() == ""


def test_a_certificate_file_chosen_as_the_key_is_refused_in_the_page(
    chromium: Any, site: SignPage, ca_dir: Path
) -> None:
    _, cert = files(ca_dir, "lmc_turkestan_head")
    page = chromium.new_page()
    open_and_choose(page, site, cert, cert)
    before = len(site.submissions)
    page.get_by_role("button", name="Подписать и отправить").click()
    page.locator("[data-sign-status]").filter(has_text="Не удалось прочитать ключ").wait_for(
        timeout=15_000
    )
    assert len(site.submissions) == before
