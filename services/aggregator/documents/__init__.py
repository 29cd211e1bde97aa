"""Documents of F12 as bytes: the consolidated report and the urging letter (DOCX), the tables (XLSX, CSV).

Pure builders: plain dataclasses in, bytes out, nothing read or written outside in-memory buffers. The DOCX
layout follows Nghị định 30/2020/NĐ-CP (DOMAIN.md §5): A4, margins 20/20/30/15 mm, Times New Roman, the
two-column header block, number/date/signer left blank for the văn thư unless given, "Nơi nhận" bottom left.
Figures are shown the Vietnamese way (1.234; 95,5%; dd/mm/yyyy) through `shared.formatting`; every text is
written in Unicode NFC. Percentages in the inputs are on the 0-100 scale (the aggregator's REPORTING_RATE and
the catalogue's "%" indicators); `None` always means "not reported" and is shown as a blank cell, never 0.

Modules: `model` (the inputs), `docx_kit` (python-docx plumbing), `nd30` (the decree's header and signature
blocks), `consolidated` (the report and its annexes), `urging` (the letter), `tables` (XLSX, CSV), `naming`
(download names and media types). Import each name from the module that defines it.
"""
