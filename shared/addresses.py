"""E-mail addresses and phone numbers as dvcq keeps them: checked and normalised once, where people type them.

- An e-mail address is checked by `email-validator` (syntax only: no DNS lookup, the machines that run dvcq
  may have no resolver) without SMTPUTF8, since the notifier speaks plain SMTP: a Vietnamese letter or a space
  in the address is refused, an internationalised domain is kept in its ASCII (punycode) form. It is stored
  lower-case, as logins and the notification ledger keep addresses.
- A phone number must be a Vietnamese mobile number (it is for the SMS/Zalo gateway): `0912 345 678`,
  `+84 912 345 678`, `84912345678`, `(+84) 912.345.678` are the same number, stored in E.164
  (`+84912345678`), as gateways expect it. Google's `phonenumbers` metadata decides which prefixes are mobile
  (it follows the 2018 renumbering); landlines and foreign numbers are refused.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidAddress(ValueError):
    """An e-mail address or phone number dvcq cannot use; the message is Vietnamese, for the person who typed it."""


def normalise_email(value: str) -> str:
    """The address as dvcq keeps it (ASCII, lower-case), or InvalidAddress saying what is wrong."""
    try:
        checked = validate_email(value.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"không hợp lệ ({_email_reason(value)}).") from exc
    return (checked.ascii_email or checked.normalized).lower()


def _email_reason(value: str) -> str:
    """Why an address was refused, in Vietnamese (the library's own reasons are English)."""
    address = value.strip()
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "phải có dạng ten@donvi.gov.vn"
    if any(c.isspace() for c in address):
        return "không được có dấu cách"
    if not local.isascii():
        return "phần trước @ không được có chữ có dấu"
    if "." not in domain:
        return "tên miền sau @ phải có dấu chấm, ví dụ travinh.gov.vn"
    return "sai cú pháp"


def normalise_mobile(value: str) -> str:
    """A Vietnamese mobile number in E.164 (`+84912345678`), or InvalidAddress."""
    example = "ví dụ 0912 345 678 hoặc +84 912 345 678"
    try:
        number = phonenumbers.parse(value.strip(), "VN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(f"không phải số điện thoại ({example}).") from exc
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        raise InvalidAddress(f"không phải số điện thoại di động Việt Nam hợp lệ ({example}).")
    if phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE:
        raise InvalidAddress(f"phải là số điện thoại di động để nhận tin nhắn cảnh báo ({example}).")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
