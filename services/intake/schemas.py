"""Intake's marshmallow schemas, built from a unit's template, with Vietnamese messages naming each field."""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from shared import web
from shared.addresses import InvalidAddress, normalise_email, normalise_mobile
from shared.formatting import STAFF_LABELS
from shared.plan import Plan, Template

MAX_TEXT = 20_000

INDICATOR_HELP = {
    "flow": "Số lũy kế trong kỳ; để trống nếu không có số liệu (không ghi 0).",
    "stock": "Số tại thời điểm cuối kỳ; để trống nếu không có số liệu (không ghi 0).",
}


class VietSchema(Schema):
    """Base schema: unknown fields refused, messages in Vietnamese."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": "Trường không có trong biểu mẫu.",
        "type": "Dữ liệu phải là một đối tượng JSON.",
    }


class Count(fields.Integer):
    """A count: an integer >= 0; blank or null means "not reported" (never 0); booleans refused."""

    MAX = 10**12  # far above any real count, far below the store's 8-byte integers

    def __init__(self, label: str, **kwargs: Any) -> None:
        message = f"{label}: phải là số nguyên không âm."
        super().__init__(
            strict=True,
            allow_none=True,
            load_default=None,
            validate=[
                validate.Range(min=0, error=message),
                validate.Range(max=self.MAX, error=f"{label}: số quá lớn."),
            ],
            error_messages={"invalid": message},
            metadata={"description": label},
            **kwargs,
        )

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        # Blank becomes null before validation, so the range validators never see it.
        return super().deserialize(None if value == "" else value, attr, data, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Text(fields.String):
    """Free text: trimmed, blank is null, length-limited."""

    def __init__(self, label: str, *, required: bool = False, max_length: int = MAX_TEXT, **kwargs: Any) -> None:
        if not required:
            kwargs["load_default"] = None
        super().__init__(
            required=required,
            allow_none=not required,
            validate=validate.Length(max=max_length, error=f"{label}: dài quá {max_length} ký tự."),
            error_messages={
                "invalid": f"{label}: phải là văn bản.",
                "required": f"{label}: bắt buộc.",
                "null": f"{label}: bắt buộc.",
            },
            metadata={"description": label},
            **kwargs,
        )

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        # Trim first; blank becomes null (or "required") before the length validator runs.
        if isinstance(value, str):
            value = value.strip()
            if not value:
                if self.required:
                    raise self.make_error("required")
                value = None
        return super().deserialize(value, attr, data, **kwargs)


class Email(Text):
    """An e-mail address (optional): checked by `shared.addresses` and kept in its normalised form, so a typo
    is refused here with a message on the field instead of stopping the alerts later."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_email(text)
        except InvalidAddress as exc:
            raise ValidationError(f"{self.metadata['description']}: {exc}") from None


class Phone(Text):
    """A Vietnamese mobile number (optional), kept in E.164 (`shared.addresses.normalise_mobile`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_mobile(text)
        except InvalidAddress as exc:
            raise ValidationError(f"{self.metadata['description']}: {exc}") from None


STAFF_TEXT_FIELDS: dict[str, type[Text]] = {"email": Email, "dien_thoai": Phone}


def _section(label: str) -> dict[str, str]:
    return {"null": f"{label}: không được để null.", "type": f"{label} phải là một đối tượng JSON."}


def _envelope_fields() -> dict[str, fields.Field]:
    return {
        "agency": fields.String(
            required=True,
            error_messages={"required": "Mã đơn vị (agency): bắt buộc.", "invalid": "Mã đơn vị không hợp lệ."},
        ),
        "period": fields.String(
            required=True,
            error_messages={"required": "Kỳ báo cáo (period): bắt buộc.", "invalid": "Kỳ báo cáo không hợp lệ."},
        ),
    }


def build_report_schema(template: Template) -> Schema:
    """The schema of one unit's report for one period, from its template."""
    name = f"{template.agency}_{template.period}".replace("-", "_")
    if template.staff_fields:
        member = VietSchema.from_dict(
            {
                key: (
                    fields.String(
                        required=True,
                        validate=validate.OneOf(
                            ["focal", "head", "other"], error=f"{STAFF_LABELS[key]}: focal, head hoặc other."
                        ),
                        error_messages={
                            "required": f"{STAFF_LABELS[key]}: bắt buộc.",
                            "null": f"{STAFF_LABELS[key]}: bắt buộc.",
                            "invalid": f"{STAFF_LABELS[key]}: focal, head hoặc other.",
                        },
                    )
                    if key == "alert_role"
                    else STAFF_TEXT_FIELDS.get(key, Text)(
                        STAFF_LABELS.get(key, key), required=key == "ho_ten", max_length=300
                    )
                )
                for key in template.staff_fields
            },
            name=f"StaffMember_{name}",
        )
        staff = fields.List(
            fields.Nested(member),
            required=True,
            validate=validate.Length(min=1, max=500, error="Danh sách cán bộ: từ 1 đến 500 người."),
            error_messages={
                "required": "Danh sách cán bộ: bắt buộc.",
                "null": "Danh sách cán bộ: bắt buộc.",
                "invalid": "Danh sách cán bộ phải là một mảng.",
            },
        )
        return VietSchema.from_dict({**_envelope_fields(), "staff": staff}, name=f"StaffList_{name}")()

    indicators = VietSchema.from_dict({i.key: Count(i.label) for i in template.indicators}, name=f"Indicators_{name}")
    narratives = VietSchema.from_dict(
        {f"area_{a}": Text(f"Kết quả nội dung {a} ({title})") for a, title in sorted(template.areas.items())},
        name=f"Narratives_{name}",
    )
    sections = template.sections
    assessment = VietSchema.from_dict(
        {key: Text(f"{sections['assessment']} - {sections[key]}") for key in ("strengths", "limitations", "causes")},
        name=f"Assessment_{name}",
    )

    def blank(schema: type[Schema]) -> dict[str, None]:
        return dict.fromkeys(schema._declared_fields)

    return VietSchema.from_dict(
        {
            **_envelope_fields(),
            "indicators": fields.Nested(
                indicators, load_default=lambda: blank(indicators), error_messages=_section("Các chỉ tiêu (indicators)")
            ),
            "narratives": fields.Nested(
                narratives,
                load_default=lambda: blank(narratives),
                error_messages=_section("Kết quả (narratives)"),
            ),
            "assessment": fields.Nested(
                assessment,
                load_default=lambda: blank(assessment),
                error_messages=_section("Đánh giá (assessment)"),
            ),
            "next_tasks": Text(sections["next_tasks"]),
            "recommendations": Text(sections["recommendations"]),
        },
        name=f"Report_{name}",
    )()


@cache
def _cached_schema(plan: Plan, agency: str, period: str) -> Schema | None:
    template = plan.template_for(agency, period)
    return build_report_schema(template) if template else None


def report_schema(plan: Plan, agency: str, period: str) -> Schema | None:
    """The (cached) schema for a unit and period, or None when the plan has no such template."""
    return _cached_schema(plan, agency, period)


MAX_LIST = 500


def _long_list(value: Any, path: str = "") -> str | None:
    """The path of the first array longer than MAX_LIST, found before any element is validated."""
    if isinstance(value, list):
        if len(value) > MAX_LIST:
            return path or "(body)"
        return next((p for i, v in enumerate(value) if (p := _long_list(v, f"{path}[{i}]"))), None)
    if isinstance(value, dict):
        return next((p for k, v in value.items() if (p := _long_list(v, f"{path}.{k}" if path else str(k)))), None)
    return None


def load_report(schema: Schema, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a body; raise marshmallow's ValidationError with flattened Vietnamese messages."""
    too_long = _long_list(body)
    if too_long:
        raise ValidationError({too_long: f"Danh sách quá dài (tối đa {MAX_LIST} phần tử)."})
    try:
        return schema.load(body)
    except ValidationError as exc:
        raise ValidationError(web.flatten_errors(exc.messages)) from None


class ReportDocSchema(Schema):
    """The general shape of a report body (the exact indicators depend on the unit's template)."""

    agency = fields.String(required=True, metadata={"description": "Mã đơn vị, ví dụ H_CAUKE"})
    period = fields.String(required=True, metadata={"description": "Kỳ báo cáo, ví dụ 2019-H1"})
    indicators = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True))
    narratives = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    assessment = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    next_tasks = fields.String(allow_none=True)
    recommendations = fields.String(allow_none=True)
    staff = fields.List(fields.Dict(), metadata={"description": "Chỉ cho kỳ 2019-STAFF: danh sách cán bộ"})


class ReceiptSchema(Schema):
    """What intake answers when it accepts a report."""

    id = fields.String()
    revision = fields.Integer()
    received_at = fields.String()
    on_time = fields.Boolean(allow_none=True)
    completeness = fields.Float()
    warnings = fields.Dict(keys=fields.String(), values=fields.String())
    amended_at = fields.String(allow_none=True)
