"""Downloads of the documents: their media types and Vietnamese file names."""

from __future__ import annotations

from shared.formatting import content_disposition
from shared.plan import nfc

MEDIA_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
DOWNLOAD_NAMES = {
    "report": ("Báo cáo dân vận chính quyền {period}", "docx"),
    "urging_letter": ("Công văn đôn đốc báo cáo dân vận chính quyền {period}", "docx"),
    "xlsx": ("Số liệu dân vận chính quyền {period}", "xlsx"),
    "csv": ("Phụ lục I số liệu dân vận chính quyền {period}", "csv"),
}


def download_filename(kind: str, period_key: str) -> str:
    """The Vietnamese file name of a download: kind is report, urging_letter, xlsx or csv."""
    stem, ext = DOWNLOAD_NAMES[kind]
    return nfc(f"{stem.format(period=period_key)}.{ext}")


def download_disposition(kind: str, period_key: str) -> str:
    """The Content-Disposition header of a download (ASCII name and RFC 5987 `filename*`)."""
    return content_disposition(download_filename(kind, period_key))
