"""Render the consolidated report and the urging letter of a realistic 2019-H1 to PNG pages under docs/ (not CI).

The period is the real plan's (plans/tra-vinh-2019) 2019-H1 as Sở Nội vụ would see it at 09:00 on 20/06/2019,
ten days after the deadline day: every expected unit's `obligation.created`; most units fulfilled on time, five
late, one on time under an extension, three still overdue (overdue, then escalated). The reports' contents
are synthetic but plausible and fixed by `SEED`: every template indicator present, a few left blank, a few
Vietnamese passages in sections II-IV. They go through the aggregator's own functions, as `handlers.export`
does: `domain.apply_obligation_event` and `compliance_view`, `totals.period_totals` and `suggest_standouts`,
`consolidation.consolidated_data`, then `documents.consolidated_report_docx` and `urging_letter_docx` with no
number, date or signer's name (left blank for the văn thư).

LibreOffice converts the DOCX files to PDF (Times New Roman is rendered with its metric twin Liberation Serif)
and poppler's pdftoppm draws each page as `docs/<document>/page-N.png`; the old pages are removed first.
Liberation Serif must be 2.x: the 1.07 of Debian 12's `fonts-liberation` has no ơ, ư nor the letters with two
marks (ạ, ế, ộ...), which LibreOffice then borrows from DejaVu Serif letter by letter. Nothing is installed here: a
missing tool or font is reported with the apt command that brings it.

Run: `.venv/bin/python deploy/render_documents.py [--dpi 80] [--out docs] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from services.aggregator.consolidation import consolidated_data
from services.aggregator.documents.consolidated import consolidated_report_docx
from services.aggregator.documents.model import UrgingLetterData
from services.aggregator.documents.urging import urging_letter_docx
from services.aggregator.domain import apply_obligation_event, compliance_view, new_board
from services.aggregator.totals.standouts import suggest_standouts
from services.aggregator.totals.sums import period_totals
from services.scheduler.domain import obligations_for_plan, version_at
from services.scheduler.handlers import created_event
from shared.plan import Plan, Template, load_plan
from shared.timerules import LOCAL_TZ, days_late, days_overdue, due_before_for_deadline_day, local_date

ROOT = Path(__file__).resolve().parent.parent
PLAN_DIR = ROOT / "plans" / "tra-vinh-2019"
PERIOD = "2019-H1"
SEED = 2019
NOW = datetime(2019, 6, 20, 9, 0, tzinfo=LOCAL_TZ)
FONT_FILE = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
OUTPUTS = {"report": "consolidated-report", "urging_letter": "urging-letter"}

# Who reported when, relative to the deadline day 10/06/2019 (late from 00:00 on 11/06).
LATE = {
    "SGTVT": datetime(2019, 6, 12, 15, 20, tzinfo=LOCAL_TZ),
    "SYT": datetime(2019, 6, 11, 8, 45, tzinfo=LOCAL_TZ),
    "BDT": datetime(2019, 6, 17, 10, 5, tzinfo=LOCAL_TZ),
    "TX_DUYENHAI": datetime(2019, 6, 13, 16, 30, tzinfo=LOCAL_TZ),
    "H_TIEUCAN": datetime(2019, 6, 14, 9, 10, tzinfo=LOCAL_TZ),
}
MISSING = ("SKHCN", "BQL_KKT", "H_TRACU")
# Cầu Kè asked for ten more days before the deadline, got them, and reported within them.
EXTENDED = {
    "H_CAUKE": (
        datetime(2019, 6, 7, 14, 0, tzinfo=LOCAL_TZ),
        due_before_for_deadline_day(date(2019, 6, 20)),
        datetime(2019, 6, 18, 11, 0, tzinfo=LOCAL_TZ),
    )
}
# Figures some units left blank (a null in the report: "not reported", never 0).
BLANKS = {
    "SXD": ("tong_so_cbccvc", "quan_triet_so_cbccvc"),
    "H_CAUNGANG": ("cu_tri_kien_nghi_tiep_nhan", "cu_tri_kien_nghi_da_tra_loi", "tthc_thu_xin_loi"),
    "SCT": ("dvk_dang_ky_tap_the", "dvk_dang_ky_ca_nhan", "dvk_cong_nhan", "dvk_nhan_rong"),
    "TTR": ("doi_thoai_luot_nguoi",),
}
# Sections II-IV of a few units' reports (the others left them empty).
TEXTS: dict[str, dict[str, str]] = {
    "SNNPTNT": {
        "strengths": "Lãnh đạo Sở quan tâm chỉ đạo; cán bộ, công chức, viên chức chấp hành tốt Quy chế dân chủ ở "
        "cơ sở, tác phong, thái độ phục vụ nhân dân có nhiều chuyển biến.",
    },
    "TP_TRAVINH": {
        "strengths": "Cải cách hành chính có nhiều chuyển biến, tỷ lệ hồ sơ giải quyết trước và đúng hạn đạt cao; "
        "mô hình “Dân vận khéo” trong chỉnh trang đô thị được nhân rộng ở các phường.",
        "next_tasks": "Tiếp tục thực hiện tốt Quy chế dân chủ ở cơ sở; nâng cao chất lượng tiếp công dân, đối thoại "
        "của người đứng đầu với nhân dân.",
        "recommendations": "Đề nghị tỉnh sớm ban hành tiêu chí đánh giá, công nhận mô hình “Dân vận khéo” thống nhất "
        "trên địa bàn tỉnh.",
    },
    "H_CANGLONG": {
        "strengths": "Người đứng đầu thực hiện tốt việc tiếp công dân định kỳ và đối thoại trực tiếp với nhân dân.",
        "next_tasks": "Xây dựng, nhân rộng các mô hình “Dân vận khéo” gắn với xây dựng nông thôn mới.",
    },
    "SNV": {
        "limitations": "Một số cơ quan, đơn vị gửi báo cáo chậm so với thời gian quy định; số liệu chưa đầy đủ.",
        "next_tasks": "Sơ kết 6 tháng thực hiện Kế hoạch; đôn đốc các cơ quan, đơn vị, địa phương chưa gửi báo cáo.",
    },
    "STNMT": {
        "limitations": "Hồ sơ đất đai tồn từ kỳ trước còn nhiều, một số hồ sơ phải xác minh nguồn gốc đất nên giải "
        "quyết trễ hạn.",
        "causes": "Số lượng hồ sơ tăng trong khi biên chế không tăng; phần mềm một cửa điện tử đôi lúc gián đoạn.",
        "recommendations": "Đề nghị Bộ Tài nguyên và Môi trường sớm hướng dẫn liên thông hồ sơ đất đai trên Cổng "
        "dịch vụ công quốc gia.",
    },
    "DAI_PTTH": {
        "limitations": "Thời lượng chuyên mục dân vận trên sóng phát thanh, truyền hình còn ít; cộng tác viên ở cơ "
        "sở chưa nhiều.",
    },
    "TTR": {
        "limitations": "Một số vụ việc khiếu nại kéo dài, công dân không đồng ý với kết quả giải quyết và tiếp tục "
        "khiếu nại vượt cấp.",
    },
    "H_CAUKE": {
        "limitations": "Kinh phí cho công tác tuyên truyền còn hạn chế; đội ngũ làm công tác dân vận ở cấp xã chủ "
        "yếu kiêm nhiệm.",
        "causes": "Địa bàn rộng, đồng bào dân tộc Khmer chiếm tỷ lệ cao nên việc tuyên truyền cần song ngữ Việt - "
        "Khmer.",
        "recommendations": "Đề nghị UBND tỉnh bố trí kinh phí hỗ trợ công tác dân vận chính quyền ở cấp xã.",
    },
    "H_CHAUTHANH": {
        "limitations": "Khiếu nại liên quan đến bồi thường, hỗ trợ, tái định cư còn diễn biến phức tạp.",
    },
    "H_DUYENHAI": {
        "recommendations": "Đề nghị Sở Nội vụ mở lớp tập huấn nghiệp vụ công tác dân vận chính quyền cho cán bộ, "
        "công chức cấp xã.",
    },
}
ASSESSMENT = ("strengths", "limitations", "causes")
TOOLS = {
    "soffice": "libreoffice-writer-nogui",
    "pdftoppm": "poppler-utils",
}
# Liberation 2.x with its Vietnamese letters: `fonts-liberation2` on Debian 12 (later releases ship 2.x as
# `fonts-liberation`).
FONT_PACKAGE = "fonts-liberation2"


# ------------------------------------------------------------------------------------------ the data


def _event(board: dict[str, Any], event_type: str, at: datetime, agency: str, **data: Any) -> None:
    """Fold one obligation event, as the scheduler would publish it at `at`, into the board."""
    apply_obligation_event(board, event_type, version_at(at), {"agency": agency, "period": PERIOD, **data})


def build_board(plan: Plan) -> dict[str, Any]:
    """The period's compliance document after the scheduler's events up to NOW."""
    period = plan.period(PERIOD)
    assert period is not None and period.due_before is not None
    due = period.due_before
    board = new_board(plan.id, PERIOD)
    rng = random.Random(SEED)
    for ob in obligations_for_plan(plan):
        if ob.period != PERIOD:
            continue
        created = created_event(ob, plan.issued_at)
        apply_obligation_event(board, created.type, created.subject_version, created.data)
        agency = ob.agency
        if agency in MISSING:
            overdue_at = datetime(2019, 6, 11, 7, 30, tzinfo=LOCAL_TZ)
            level = {"generation": 1, "due_before": due.isoformat(), "skipped": []}
            _event(board, "obligation.overdue", overdue_at, agency, level="overdue", days_overdue=1, **level)
            escalated_at = datetime(2019, 6, 17, 7, 30, tzinfo=LOCAL_TZ)
            days = days_overdue(local_date(escalated_at), due)
            _event(
                board, "obligation.escalated", escalated_at, agency, level="escalation_1", days_overdue=days, **level
            )
            continue
        deadline, generation = due, 1
        if agency in EXTENDED:
            granted_at, deadline, received = EXTENDED[agency]
            generation = 2
            _event(board, "obligation.extended", granted_at, agency, generation=2, due_before=deadline.isoformat())
        else:
            received = LATE.get(agency) or datetime(2019, 6, rng.randint(3, 10), rng.randint(7, 16), 0, tzinfo=LOCAL_TZ)
        late = days_late(received, deadline)
        _event(
            board,
            "obligation.fulfilled",
            received,
            agency,
            status="submitted_late" if late > 0 else "submitted_on_time",
            received_at=received.isoformat(),
            due_before=deadline.isoformat(),
            generation=generation,
            days_late=late,
            report_id=f"{agency}:{PERIOD}",
        )
    return board


def _figures(agency: str, types: Sequence[str], rng: random.Random) -> dict[str, int]:
    """Plausible six-month figures for one unit, consistent with the plan's cross-field rules."""
    district = "HUYEN" in types

    def pick(so: tuple[int, int], huyen: tuple[int, int]) -> int:
        return rng.randint(*(huyen if district else so))

    def part(whole: int, low: float, high: float) -> int:
        return round(whole * rng.uniform(low, high))

    v: dict[str, int] = {}
    v["vb_chi_dao_ban_hanh"] = pick((2, 8), (6, 20))
    v["quan_triet_so_cuoc"] = pick((1, 5), (6, 24))
    v["quan_triet_luot_nguoi"] = v["quan_triet_so_cuoc"] * pick((25, 90), (80, 250))
    v["tong_so_cbccvc"] = pick((35, 320), (380, 1400))
    v["quan_triet_so_cbccvc"] = part(v["tong_so_cbccvc"], 0.78, 1.0)
    v["tin_bai_tuyen_truyen"] = {"DAI_PTTH": rng.randint(90, 160), "STTTT": rng.randint(25, 45)}.get(
        agency, pick((1, 12), (10, 55))
    )
    v["chuyen_muc_pt_th"] = rng.randint(20, 30)
    v["phoi_hop_chuong_trinh"] = pick((1, 4), (3, 8))
    v["giam_sat_cuoc"] = pick((0, 2), (2, 8))
    v["giam_sat_kien_nghi_tiep_nhan"] = pick((0, 5), (6, 24))
    v["giam_sat_kien_nghi_da_xu_ly"] = part(v["giam_sat_kien_nghi_tiep_nhan"], 0.6, 1.0)
    v["phan_bien_du_thao"] = pick((0, 3), (1, 6))
    v["cu_tri_kien_nghi_tiep_nhan"] = pick((0, 12), (20, 85))
    v["cu_tri_kien_nghi_da_tra_loi"] = part(v["cu_tri_kien_nghi_tiep_nhan"], 0.7, 1.0)
    v["hoi_nghi_cbccvc"] = pick((1, 1), (4, 18))
    v["quy_che_dan_chu_ban_hanh"] = pick((0, 3), (1, 6))
    v["tcd_luot"] = rng.randint(110, 240) if agency == "TTR" else pick((2, 24), (45, 190))
    v["tcd_nguoi"] = v["tcd_luot"] + part(v["tcd_luot"], 0.0, 0.4)
    v["tcd_dinh_ky_nguoi_dung_dau"] = pick((6, 6), (6, 12))
    v["tcd_doan_dong_nguoi"] = rng.randint(0, 4)
    v["tcd_doan_dong_nguoi_luot_nguoi"] = v["tcd_doan_dong_nguoi"] * rng.randint(6, 28)
    v["don_tiep_nhan_tong"] = rng.randint(90, 210) if agency == "TTR" else pick((1, 30), (40, 200))
    v["don_khieu_nai"] = part(v["don_tiep_nhan_tong"], 0.2, 0.4)
    v["don_to_cao"] = part(v["don_tiep_nhan_tong"], 0.0, 0.1)
    v["don_kien_nghi_phan_anh"] = v["don_tiep_nhan_tong"] - v["don_khieu_nai"] - v["don_to_cao"]
    v["vu_viec_thuoc_tham_quyen"] = part(v["don_tiep_nhan_tong"], 0.1, 0.35)
    v["vu_viec_da_giai_quyet"] = part(v["vu_viec_thuoc_tham_quyen"], 0.6, 0.95)
    v["vu_viec_dang_giai_quyet"] = v["vu_viec_thuoc_tham_quyen"] - v["vu_viec_da_giai_quyet"]
    v["doi_thoai_so_cuoc"] = pick((0, 2), (2, 10))
    v["doi_thoai_luot_nguoi"] = v["doi_thoai_so_cuoc"] * pick((20, 60), (40, 150))
    v["doi_thoai_kien_nghi_tiep_nhan"] = v["doi_thoai_so_cuoc"] * rng.randint(1, 6)
    v["doi_thoai_kien_nghi_da_giai_quyet"] = part(v["doi_thoai_kien_nghi_tiep_nhan"], 0.5, 1.0)
    v["tap_huan_so_lop"] = rng.randint(4, 8) if agency == "SNV" else pick((0, 2), (1, 5))
    v["tap_huan_luot_nguoi"] = v["tap_huan_so_lop"] * rng.randint(30, 90)
    # Administrative procedures: what came in (carried over + new) is resolved, pending or returned.
    big = agency in ("STNMT", "SKHDT", "SGTVT", "STP", "SLDTBXH")
    v["tthc_ton_ky_truoc"] = rng.randint(20, 160) if big else pick((0, 25), (40, 380))
    v["tthc_tiep_nhan_moi"] = rng.randint(1800, 5200) if big else pick((20, 900), (2200, 11000))
    v["tthc_tiep_nhan_truc_tuyen"] = part(v["tthc_tiep_nhan_moi"], 0.03, 0.3)
    whole = v["tthc_ton_ky_truoc"] + v["tthc_tiep_nhan_moi"]
    v["tthc_tra_lai_rut"] = part(whole, 0.0, 0.015)
    v["tthc_dang_giai_quyet_trong_han"] = part(whole, 0.03, 0.09)
    v["tthc_dang_giai_quyet_qua_han"] = part(whole, 0.0, 0.01)
    resolved = whole - v["tthc_tra_lai_rut"] - v["tthc_dang_giai_quyet_trong_han"] - v["tthc_dang_giai_quyet_qua_han"]
    v["tthc_da_giai_quyet_tre_han"] = part(resolved, 0.0, 0.04 if big or district else 0.01)
    v["tthc_da_giai_quyet_truoc_han"] = part(resolved - v["tthc_da_giai_quyet_tre_han"], 0.55, 0.9)
    v["tthc_da_giai_quyet_dung_han"] = resolved - v["tthc_da_giai_quyet_tre_han"] - v["tthc_da_giai_quyet_truoc_han"]
    v["tthc_thu_xin_loi"] = part(v["tthc_da_giai_quyet_tre_han"], 0.3, 1.0)
    v["tthc_cong_khai"] = pick((35, 210), (255, 320))
    v["pakn_tiep_nhan"] = pick((0, 4), (1, 9))
    v["pakn_da_xu_ly"] = part(v["pakn_tiep_nhan"], 0.6, 1.0)
    v["dvk_dang_ky_tap_the"] = pick((1, 3), (2, 8))
    v["dvk_dang_ky_ca_nhan"] = pick((0, 4), (2, 10))
    v["dvk_cong_nhan"] = part(v["dvk_dang_ky_tap_the"] + v["dvk_dang_ky_ca_nhan"], 0.2, 0.9)
    v["dvk_nhan_rong"] = part(v["dvk_cong_nhan"], 0.0, 0.6)
    v["khen_thuong_tap_the"] = pick((0, 3), (1, 6))
    v["khen_thuong_ca_nhan"] = pick((0, 6), (3, 16))
    return v


def _content(template: Template, figures: dict[str, int], blanks: Sequence[str], texts: dict[str, str]) -> dict:
    """A report's content as intake stores it: every template field present, null where left blank."""
    areas = sorted(template.areas)
    return {
        "indicators": {k: (None if k in blanks else figures[k]) for k in template.indicator_keys()},
        "narratives": {f"area_{a}": None for a in areas},
        "assessment": {k: texts.get(k) for k in ASSESSMENT},
        "next_tasks": texts.get("next_tasks"),
        "recommendations": texts.get("recommendations"),
    }


def build_reports(plan: Plan, board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each received unit's latest revision (`{agency: {"revision", "content"}}`), as the reports document keeps it."""
    rng = random.Random(SEED + 1)
    out = {}
    for agency, entry in board["units"].items():
        unit, template = plan.unit(agency), plan.template_for(agency, PERIOD)
        assert unit is not None and template is not None
        figures = _figures(agency, unit.types, rng)  # drawn for every unit, so the seed gives each the same
        if entry["status"] not in ("submitted_on_time", "submitted_late"):
            continue
        content = _content(template, figures, BLANKS.get(agency, ()), TEXTS.get(agency, {}))
        out[agency] = {"revision": 1, "received_at": entry["received_at"], "content": content}
    return out


def build_documents(plan: Plan) -> dict[str, bytes]:
    """The two DOCX documents of the period, made the way `handlers.export` makes them."""
    board = build_board(plan)
    view = compliance_view(board, plan, NOW)
    reports = build_reports(plan, board)
    expected = [r["agency"] for r in view["units"] if r["status"] not in ("waived", "closed_by_reorganisation")]
    totals = period_totals(plan, PERIOD, {a: r["content"] for a, r in reports.items()}, expected=expected)
    suggestions = suggest_standouts(totals)
    chosen: list[tuple[str, str | None]] = []
    for ratio in suggestions:  # Sở Nội vụ's pick: the best unit of each ratio, reasons as suggested
        best = next((c.agency for c in ratio.candidates if c.agency not in dict(chosen)), None)
        if best:
            chosen.append((best, None))
    data = consolidated_data(
        plan, PERIOD, board=view, reports=reports, totals=totals, suggestions=suggestions, chosen=chosen, now=NOW
    )
    letter = UrgingLetterData.from_consolidated(data)
    return {
        "report": consolidated_report_docx(data),
        "urging_letter": urging_letter_docx(letter),
    }


# ------------------------------------------------------------------------------------------ rendering


def missing_tools() -> list[str]:
    """The Debian packages whose tools are not here: LibreOffice Writer, poppler, a Liberation Serif that has
    the Vietnamese letters and stands in for Times New Roman."""
    packages = [package for tool, package in TOOLS.items() if shutil.which(tool) is None]
    fc_list, fc_match = shutil.which("fc-list"), shutil.which("fc-match")
    if fc_list and fc_match:
        vietnamese = subprocess.run(
            [fc_list, ":family=Liberation Serif:lang=vi", "file"], capture_output=True, text=True, check=False
        ).stdout
        chosen = subprocess.run(
            [fc_match, "Times New Roman:lang=vi", "family"], capture_output=True, text=True, check=False
        ).stdout
        has_font = bool(vietnamese.strip()) and "Liberation Serif" in chosen
    else:
        has_font = FONT_FILE.exists()
    if not has_font:
        packages.append(FONT_PACKAGE)
    return packages


def to_pdf(paths: Sequence[Path], workdir: Path) -> None:
    """Convert DOCX files to PDF beside them with headless LibreOffice (a throwaway profile, so a running
    LibreOffice or the user's own profile is left alone)."""
    profile = (workdir / "lo-profile").as_uri()
    command = [
        "soffice",
        f"-env:UserInstallation={profile}",
        "--headless",
        "--convert-to",
        "pdf",
        "--outdir",
        str(workdir),
        *map(str, paths),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    for path in paths:
        if not path.with_suffix(".pdf").exists():
            raise RuntimeError(f"LibreOffice made no PDF of {path.name}")


def to_png(pdf: Path, target: Path, dpi: int) -> list[Path]:
    """Draw each page of a PDF as target/page-N.png (the old pages removed first); the pages in order."""
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("page-*.png"):
        old.unlink()
    scratch = pdf.parent / f"{pdf.stem}-pages"
    scratch.mkdir()
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(scratch / "page")], check=True, timeout=300)
    pages = []
    for drawn in scratch.glob("page-*.png"):  # pdftoppm pads the number to the page count's width
        match = re.fullmatch(r"page-0*(\d+)\.png", drawn.name)
        assert match is not None
        pages.append((int(match.group(1)), drawn))
    out = []
    for number, drawn in sorted(pages):
        shutil.move(drawn, target / f"page-{number}.png")
        out.append(target / f"page-{number}.png")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dpi", type=int, default=80, help="resolution of the PNG pages (default 80)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the page folders go (default docs/)")
    parser.add_argument("--keep", type=Path, help="also copy the DOCX and PDF files to this folder")
    args = parser.parse_args(argv)

    missing = missing_tools()
    if missing:
        print(
            "render_documents: missing tools; install them with:\n"
            f"  sudo apt-get install --no-install-recommends {' '.join(missing)}",
            file=sys.stderr,
        )
        return 2

    made = build_documents(load_plan(PLAN_DIR))
    with tempfile.TemporaryDirectory(prefix="dvcq-render-") as tmp:
        workdir = Path(tmp)
        docx = {kind: workdir / f"{OUTPUTS[kind]}.docx" for kind in made}
        for kind, content in made.items():
            docx[kind].write_bytes(content)
        to_pdf(list(docx.values()), workdir)
        total = 0
        for kind, path in docx.items():
            pages = to_png(path.with_suffix(".pdf"), args.out / OUTPUTS[kind], args.dpi)
            size = sum(p.stat().st_size for p in pages)
            total += size
            print(f"{OUTPUTS[kind]}: {len(pages)} pages, {size / 1024:.0f} KiB in {args.out / OUTPUTS[kind]}")
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, args.keep)
                shutil.copy(path.with_suffix(".pdf"), args.keep)
        print(f"total {total / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
