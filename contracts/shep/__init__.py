"""The e-government bus (ШЭП) contract: our WSDL and XSDs, service ids, status codes.

Both sides of the wire load the contract from here, the adapter to build zeep's client
and the mock bus to validate what it receives, so a change to a schema is felt by both
at once and by the contract tests.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

__all__ = [
    "ASP_NS",
    "ASYNC_WSDL_PATH",
    "CONTRACT_DIR",
    "EOPEKA_NS",
    "GBDFL_NS",
    "MIGRATION_NS",
    "NS_ASYNC_INTERFACES",
    "NS_ASYNC_MESSAGE",
    "NS_ASYNC_TYPES",
    "NS_COMMON",
    "NS_REQUEST",
    "NS_RESPONSE",
    "NS_TYPES",
    "SCHEMA_FILES",
    "SUPREME_COURT_NS",
    "WSDL_PATH",
    "ZAGS_NS",
    "ServiceDefinition",
    "bus_schema",
    "load_services",
    "service_by_key",
    "soap_actions",
]

CONTRACT_DIR = Path(__file__).resolve().parent
WSDL_PATH = CONTRACT_DIR / "SyncChannel.wsdl"
SERVICES_PATH = CONTRACT_DIR / "services.json"
ASYNC_WSDL_PATH = CONTRACT_DIR / "AsyncChannel.wsdl"

NS_TYPES = "http://bip.bee.kz/SyncChannel/v10/Types"
NS_REQUEST = "http://bip.bee.kz/SyncChannel/v10/Types/Request"
NS_RESPONSE = "http://bip.bee.kz/SyncChannel/v10/Types/Response"
NS_COMMON = "http://bip.bee.kz/common/v10/Types"
NS_INTERFACES = "http://bip.bee.kz/SyncChannel/v10/Interfaces"
NS_ASYNC_TYPES = "http://bip.bee.kz/AsyncChannel/v10/Types"
NS_ASYNC_MESSAGE = "http://bip.bee.kz/AsyncChannel/v10/Types/Message"
NS_ASYNC_INTERFACES = "http://bip.bee.kz/AsyncChannel/v10/Interfaces"
GBDFL_NS = "urn:kz-social-gateway:shep:gbdfl:v1"
ZAGS_NS = "urn:kz-social-gateway:shep:zags:v1"
EOPEKA_NS = "urn:kz-social-gateway:shep:eopeka:v1"
SUPREME_COURT_NS = "urn:kz-social-gateway:shep:supreme-court:adoption:v1"
MIGRATION_NS = "urn:kz-social-gateway:shep:migration-police:v1"
ASP_NS = "urn:kz-social-gateway:shep:asp:v1"

# Namespace -> file. Every namespace a message may carry, bus and payloads alike.
SCHEMA_FILES: dict[str, str] = {
    NS_COMMON: "common-Types.xsd",
    NS_REQUEST: "SyncChannel-Request.xsd",
    NS_RESPONSE: "SyncChannel-Response.xsd",
    NS_TYPES: "SyncChannel-Types.xsd",
    NS_ASYNC_MESSAGE: "AsyncChannel-Message.xsd",
    NS_ASYNC_TYPES: "AsyncChannel-Types.xsd",
    GBDFL_NS: "gbdfl-Person.xsd",
    ZAGS_NS: "zags-Records.xsd",
    EOPEKA_NS: "eopeka-Guardianship.xsd",
    SUPREME_COURT_NS: "vs-Adoption.xsd",
    MIGRATION_NS: "migration-Registrations.xsd",
    ASP_NS: "asp-Facts.xsd",
}


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """One registry service on the bus, as named in ``services.json``."""

    key: str
    service_id: str
    registry: str
    channel: str
    payload_schema: str
    request: str
    response: str


@cache
def load_services(path: Path = SERVICES_PATH) -> tuple[ServiceDefinition, ...]:
    """Service ids are data so that the real bus's ids can replace ours without code."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    services = tuple(
        ServiceDefinition(
            key=item["key"],
            service_id=item["serviceId"],
            registry=item["registry"],
            channel=item["channel"],
            payload_schema=item["payloadSchema"],
            request=item["request"],
            response=item["response"],
        )
        for item in raw["services"]
    )
    for field in ("key", "service_id"):
        values = [getattr(s, field) for s in services]
        if len(values) != len(set(values)):
            raise ValueError(f"{path}: duplicate {field} in services")
    return services


def service_by_key(key: str, path: Path = SERVICES_PATH) -> ServiceDefinition:
    for service in load_services(path):
        if service.key == key:
            return service
    raise KeyError(f"no bus service with key {key!r} in {path}")


_WSDL = "http://schemas.xmlsoap.org/wsdl/"
_WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"


@cache
def soap_actions(wsdl_path: Path) -> dict[str, str]:
    """Each operation's Body element (Clark name) -> its ``soapAction``, from the WSDL.

    Document/literal: a request's Body holds the input message's one part element, so
    that element tells which operation, and so which ``SOAPAction``, a request means.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.parse(str(wsdl_path), parser).getroot()
    ns = {"wsdl": _WSDL, "soap": _WSDL_SOAP}

    def clark(prefixed: str, context: etree._Element) -> str:
        prefix, _, local = prefixed.rpartition(":")
        return f"{{{context.nsmap[prefix or None]}}}{local}"

    parts = {
        message.get("name"): clark(part.get("element", ""), part)
        for message in root.findall("wsdl:message", ns)
        for part in message.findall("wsdl:part", ns)
    }
    inputs = {
        operation.get("name"): parts[etree.QName(clark(entry.get("message", ""), entry)).localname]
        for operation in root.findall("wsdl:portType/wsdl:operation", ns)
        for entry in operation.findall("wsdl:input", ns)
    }
    return {
        inputs[operation.get("name")]: soap.get("soapAction", "")
        for operation in root.findall("wsdl:binding/wsdl:operation", ns)
        for soap in operation.findall("soap:operation", ns)
    }


_SCHEMA_LOCK = threading.Lock()


def contract_errors(element: etree._Element) -> list[str]:
    """Why `element` breaks the bus contract; empty when it does not.

    Use this, not `bus_schema().validate`, from code that may run in several threads
    (the mock bus answers in a thread pool): an lxml schema keeps its error log on the
    object, and libxml2's schema compiler must not run twice at once — concurrent first
    use was seen to corrupt it, failing every later validation in the process.
    """
    with _SCHEMA_LOCK:
        schema = bus_schema()
        if schema.validate(element):
            return []
        return [f"line {e.line}: {e.message}" for e in schema.error_log]


@cache
def bus_schema() -> etree.XMLSchema:
    """One validator for the bus's messages and every payload we know.

    The payload slot is ``xs:any`` with lax processing, so loading the registries'
    schemas into the same validator makes it check the payload as well as the frame.
    Built once per process: compiling the XSDs costs far more than validating.
    """
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{(CONTRACT_DIR / name).as_uri()}"/>'
        for ns, name in SCHEMA_FILES.items()
    )
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'targetNamespace="urn:kz-social-gateway:shep:all">' + imports + "</xs:schema>"
    )
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    doc = etree.fromstring(wrapper.encode(), parser, base_url=CONTRACT_DIR.as_uri() + "/")
    return etree.XMLSchema(doc)
