"""The mock e-government portal (egov.kz «Электронное обращение»); see README.md."""

from mocks.egov.app import MAX_SMS_SEGMENTS, EgovState, Refused, create_app
from mocks.egov.register import PublicService, ServiceRegister, load_register
from mocks.egov.sms import SmsCost, sms_cost

__all__ = [
    "MAX_SMS_SEGMENTS",
    "EgovState",
    "PublicService",
    "Refused",
    "ServiceRegister",
    "SmsCost",
    "create_app",
    "load_register",
    "sms_cost",
]
