"""Write the bad-input corpus: malformed or awkward files, each with an expected result in
tests/test_corpus.py. Run: python tests/corpus/make_corpus.py (deterministic)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pyreadstat

HERE = Path(__file__).resolve().parent
LONG = "patient_id,visit,outcome,value\n"


def rows(pairs: list[tuple[str, float, float]], outcome: str = "pain_nrs", sep: str = ",") -> str:
    text = []
    for pid, before, after in pairs:
        text.append(sep.join([pid, "baseline", outcome, f"{before}"]))
        text.append(sep.join([pid, "m6", outcome, f"{after}"]))
    return "\n".join(text) + "\n"


BASIC = [("P01", 7, 4), ("P02", 6, 5), ("P03", 8, 3), ("P04", 5, 5), ("P05", 9, 6)]


def files() -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    basic = LONG + rows(BASIC)
    out["empty.csv"] = b""
    out["only_whitespace.csv"] = b"   \n \n\t\n"
    out["header_only.csv"] = LONG.encode()
    out["binary_junk.csv"] = bytes((i * 37 + 11) % 256 for i in range(4096))
    out["csv_named_xlsx.xlsx"] = basic.encode()
    frame = pd.read_csv(io.StringIO(basic), dtype={"patient_id": str})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    out["parquet_named_csv.csv"] = buffer.getvalue()
    out["truncated.parquet"] = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    out["utf8_bom.csv"] = basic.encode("utf-8-sig")
    out["utf16_excel_unicode_text.txt"] = basic.replace(",", "\t").encode("utf-16")
    out["latin1_accents.csv"] = (
        "patient_id,visit,outcome,value,centre\n"
        + "".join(
            f"{p},baseline,pain_nrs,{b},Zürich\n{p},m6,pain_nrs,{a},Zürich\n" for p, b, a in BASIC
        )
    ).encode("latin-1")  # fmt: skip
    out["semicolon_decimal_comma.csv"] = (
        "patient_id;visit;outcome;value\n"
        "H1;baseline;hba1c;8,4\nH1;m6;hba1c;7,9\nH2;baseline;hba1c;7,2\nH2;m6;hba1c;7,0\n"
    ).encode("cp1252")
    out["tab_delimited.tsv"] = basic.replace(",", "\t").encode()
    out["pipe_delimited.txt"] = basic.replace(",", "|").encode()
    out["crlf_line_endings.csv"] = basic.replace("\n", "\r\n").encode()
    out["blank_lines.csv"] = (LONG + "\n" + rows(BASIC).replace("\n", "\n\n")).encode()
    out["trailing_delimiters.csv"] = basic.replace("\n", ",\n").encode()
    out["quoted_commas.csv"] = (
        "patient_id,visit,outcome,value,cell_source\n"
        + "".join(f'{p},baseline,pain_nrs,{b},"bone marrow, autologous"\n'
                  f'{p},m6,pain_nrs,{a},"bone marrow, autologous"\n' for p, b, a in BASIC)
    ).encode()  # fmt: skip
    out["duplicated_rows.csv"] = (basic + "P01,baseline,pain_nrs,7\n").encode()
    out["conflicting_duplicates.csv"] = (basic + "P01,baseline,pain_nrs,3\n").encode()
    out["text_in_scores.csv"] = (
        basic + "P06,baseline,pain_nrs,severe\nP06,m6,pain_nrs,4\n"
    ).encode()
    out["missing_markers.csv"] = (basic + "P06,baseline,pain_nrs,n/a\nP06,m6,pain_nrs,-\n").encode()
    out["out_of_range.csv"] = (basic + "P06,baseline,pain_nrs,14\nP06,m6,pain_nrs,4\n").encode()
    out["single_patient.csv"] = (LONG + rows(BASIC[:1])).encode()
    out["zero_variance.csv"] = (LONG + rows([(p, 6, 4) for p, _, _ in BASIC])).encode()
    out["leading_zero_ids.csv"] = (
        LONG + rows([("007", 7, 4), ("7", 6, 6), ("0007", 8, 5)])
    ).encode()
    out["mixed_case_visits.csv"] = (
        LONG
        + "P1,Baseline,pain_nrs,7\nP1,M6,pain_nrs,4\nP2, baseline ,pain_nrs,6\nP2,m6,pain_nrs,5\n"
    ).encode()
    out["html_and_markdown_strings.csv"] = (
        b"patient_id,visit,outcome,value,<b>site</b>\n"
        b"<script>x</script>,baseline,pain_nrs,7,[link](http://x.test)\n"
        b"<script>x</script>,m6,pain_nrs,4,[link](http://x.test)\n"
    )
    out["formula_strings.csv"] = (
        "patient_id,visit,outcome,value,note\n"
        + "".join(f'{p},baseline,pain_nrs,{b},"=HYPERLINK(""http://x"")"\n'
                  f'{p},m6,pain_nrs,{a},@SUM(A1)\n' for p, b, a in BASIC)
    ).encode()  # fmt: skip
    wide_header = "patient_id," + ",".join(
        f"item{i:03d}__baseline,item{i:03d}__m6" for i in range(300)
    )
    wide_row = "W1," + ",".join(f"{i % 7},{(i + 1) % 7}" for i in range(300))
    out["very_wide.csv"] = (wide_header + "\n" + wide_row + "\n").encode()
    out["ragged_rows.csv"] = (basic + "P06,baseline,pain_nrs,6,extra,fields\n").encode()
    out["no_patient_id.csv"] = b"visit,outcome,value\nbaseline,pain_nrs,5\n"
    out["one_column.csv"] = b"scores\n5\n6\n"
    out["old_excel.xls"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    out["zip_not_workbook.xlsx"] = archive.getvalue()
    out["identifiers.csv"] = (
        b"patient_id,full_name,contact,visit,outcome,value\n"
        b"P1,Jane Roe,jane@example.org,baseline,pain_nrs,7\n"
        b"P1,Jane Roe,jane@example.org,m6,pain_nrs,4\n"
    )
    out["calendar_dates.csv"] = (
        b"patient_id,treatment_date,visit_date,visit,outcome,value\n"
        b"P1,2024-03-01,2024-02-28,baseline,pain_nrs,7\nP1,2024-03-01,2024-09-01,m6,pain_nrs,4\n"
    )
    out["missing_baseline.csv"] = (basic + "P06,m6,pain_nrs,4\n").encode()
    out["attribute_varies.csv"] = (
        b"patient_id,visit,outcome,value,sex\nP1,baseline,pain_nrs,7,female\nP1,m6,pain_nrs,4,male\n"
    )
    out["unknown_outcome.csv"] = (LONG + rows(BASIC, outcome="grip_kg")).encode()
    out["unicode_ids.csv"] = (LONG + rows([("Ωmega-1", 7, 4), ("患者-2", 6, 5)])).encode()
    out["redcap_export.csv"] = (
        b"record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,pain_nrs,"
        b"demographics_complete\n1,baseline_arm_1,,,7,2\n1,month_6_arm_1,,,4,2\n"
        b"2,baseline_arm_1,,,6,2\n2,month_6_arm_1,,,5,2\n1,month_6_arm_1,adverse_events,1,,\n"
    )
    xlsx = io.BytesIO()
    with pd.ExcelWriter(xlsx, engine="openpyxl") as writer:
        frame.assign(value=frame["value"] * 0).to_excel(writer, sheet_name="Notes", index=False)
        frame.to_excel(writer, sheet_name="Outcomes", index=False)
    out["xlsx_two_sheets.xlsx"] = xlsx.getvalue()
    return out


def main() -> None:
    for name, data in files().items():
        (HERE / name).write_bytes(data)
    adam = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1", "S2", "S2"],
            "PARAMCD": ["PAIN_NRS"] * 4,
            "AVISIT": ["Baseline", "Week 24", "Baseline", "Week 24"],
            "AVISITN": [0.0, 24.0, 0.0, 24.0],
            "AVAL": [7.0, 4.0, 6.0, 5.0],
            "ABLFL": ["Y", "", "Y", ""],
        }
    )
    pyreadstat.write_xport(
        adam, str(HERE / "adam_bds.xpt"), table_name="ADQS", file_format_version=5
    )
    print(f"wrote {len(files()) + 1} files to {HERE}")


if __name__ == "__main__":
    main()
