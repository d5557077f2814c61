"""The PHI guard: every identifier file of the corpus (tests/ingest/phi_corpus, written by
make_phi_corpus.py) is refused naming the right column, every clean look-alike loads, and the
guard looks at every row and column (the patient ID and numbers included) and inside text."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.ingest import phi
from analysis.ingest.pipeline import load_bytes, load_path

CORPUS = Path(__file__).resolve().parent / "phi_corpus"
EXPECTED = list(csv.DictReader((CORPUS / "expected.csv").open(encoding="utf-8")))
IDENTIFIER_FILES = [r for r in EXPECTED if r["kind"] == "identifier"]
CLEAN_FILES = [r for r in EXPECTED if r["kind"] == "clean"]
FIRST = ["Jane", "Omar", "Li", "Ana", "Pierre", "Greta", "Luca", "Sofia", "Kwame", "Ines"]
LAST = ["Roe", "Haddad", "Wen", "Souza", "Martin", "Vogel", "Bianchi", "Garcia", "Mensah", "Costa"]


def _long(extra: dict[str, list[object]], ids: list[str] | None = None) -> pd.DataFrame:
    ids = ids or [f"P{i:03d}" for i in range(1, 11)]
    frame = pd.DataFrame(
        {"patient_id": ids, "visit": "baseline", "outcome": "pain_nrs", "value": 5}
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_the_corpus_has_at_least_50_files_of_each_kind_and_nothing_else():
    assert len(IDENTIFIER_FILES) >= 50 and len(CLEAN_FILES) >= 50
    on_disk = {p.name for p in CORPUS.iterdir() if p.name.startswith(("id_", "clean_"))}
    assert on_disk == {r["file"] for r in EXPECTED}


@pytest.mark.parametrize("row", IDENTIFIER_FILES, ids=lambda r: r["file"])
def test_identifier_file_is_refused_naming_the_column(row):
    result = load_path(CORPUS / row["file"])
    assert result.dataset is None
    assert row["column"] in result.identifier_columns, result.report.as_text()
    message = next(f for f in result.report.errors if f.code == "identifiers").message
    assert repr(row["column"]) in message


@pytest.mark.parametrize("row", CLEAN_FILES, ids=lambda r: r["file"])
def test_clean_look_alike_loads(row):
    result = load_path(CORPUS / row["file"])
    assert result.dataset is not None, result.report.as_text()
    assert not [f for f in result.report.findings if f.code == "identifiers"]


def test_the_message_names_column_rule_and_example_row():
    frame = _long({"notes": ["stable"] * 6 + ["call back on 555-234-0199"] + ["stable"] * 3})
    message = load_bytes(_csv(frame), "x.csv").report.errors[0].message
    assert "'notes' (its values include phone numbers (e.g. row 8))" in message


def test_every_row_is_looked_at_not_a_sample():
    n = 30_000
    notes = np.array(["stable"] * n, dtype=object)
    notes[n - 5] = "write to jane.roe@mailbox.org"
    frame = pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "note": pd.Categorical(notes)})
    flags = phi.scan(frame, "patient_id")
    assert [f.column for f in flags] == ["note"]
    assert f"row {n - 5 + 2}" in flags[0].reason


def test_the_example_row_follows_the_spreadsheet_rows_given():
    frame = _long({"remarks": ["ok"] * 9 + ["jane@mailbox.org"]})
    rows = np.arange(10) * 2 + 5  # blank lines in between
    flags = phi.scan(frame, "patient_id", rows=rows)
    assert "(e.g. row 23)" in flags[0].reason


@pytest.mark.parametrize(
    ("ids", "reason"),
    [
        ([f"user{i}@mailbox.org" for i in range(10)], "e-mail addresses"),
        (
            [
                f"{a} {b}"
                for a, b in zip(
                    FIRST,
                    LAST,
                    strict=True,
                )
            ],
            "people's names",
        ),
        ([f"219-09-{9990 + i}" for i in range(10)], "social security numbers"),
        ([f"MRN{4471920 + i}" for i in range(10)], "record"),
        ([str(219099990 + 13 * i) for i in range(10)], "social security numbers"),
        ([f"1000{4471920 + i}" for i in range(10)], "record numbers"),
    ],
)
def test_the_patient_id_column_is_scanned(ids, reason):
    flags = phi.scan(_long({}, ids), "patient_id")
    assert [f.column for f in flags] == ["patient_id"]
    assert reason in flags[0].reason


@pytest.mark.parametrize(
    "ids",
    [
        [f"P{i:03d}" for i in range(1, 11)],
        [f"{i:03d}" for i in range(1, 11)],
        [f"MSC-{i:03d}" for i in range(1, 11)],
        [f"PT{i}" for i in range(1, 11)],
        [f"SYN-{i:03d}" for i in range(1, 11)],
        [str(i) for i in range(1, 11)],
    ],
)
def test_pseudonymous_patient_ids_stay_allowed(ids):
    assert phi.scan(_long({}, ids), "patient_id") == []


def test_seven_digit_ids_are_a_warning_not_a_refusal():
    ids = [str(1001001 + i) for i in range(10)]
    result = load_bytes(_csv(_long({}, ids)), "x.csv")
    assert result.dataset is not None
    assert any(f.code == "record_number_ids" for f in result.report.findings)
    assert phi.record_number_ids(pd.Series(ids * 3)) == 10


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("ref_code", [219099990 + 13 * i for i in range(10)], "social security numbers"),
        ("callback", [5552340100 + 7 * i for i in range(10)], "phone numbers"),
        ("enrolled", [44927 + 3 * i for i in range(10)], "spreadsheet serial dates"),
    ],
)
def test_numeric_columns_are_scanned(column, values, reason):
    flags = phi.scan(_long({column: values}), "patient_id")
    assert [f.column for f in flags] == [column] and reason in flags[0].reason


def test_round_numbers_and_measurements_are_not_identifiers():
    frame = _long(
        {
            "dose_cells": [1e8, 5e7, 1e6, 1e8, 5e7, 1e6, 1e8, 5e7, 1e6, 1e8],
            "total_cells": [2.3e9] * 10,
            "platelets": [150_000 + 12_345 * i for i in range(10)],
            "amplitude": [19.283884730043322 + i for i in range(10)],
        }
    )
    assert phi.scan(frame, "patient_id") == []


@pytest.mark.parametrize(
    "note",
    [
        "seen on 04/03/2021 at the clinic",
        "call 555-234-0199 after 6pm",
        "moved to 40 Maple Avenue",
        "Mrs Roe reports less pain",
        "MRN: 4471920",
        "habite 12 rue de la Paix",
        "联系 138 1234 5678",
        "uploaded from 198.51.100.23",
        "details at www.roe-family-photos.net/album",
    ],
)
def test_identifiers_inside_free_text_are_found(note):
    frame = _long({"notes": ["stable"] * 9 + [note]})
    assert [f.column for f in phi.scan(frame, "patient_id")] == ["notes"]


@pytest.mark.parametrize(
    "name",
    [
        "PatientName",
        "pt_name",
        "Surname",
        "nombre",
        "apellidos",
        "prénom",
        "Nachname",
        "cognome",
        "nome_do_paciente",
        "xingming",
        "姓名",
        "DOB",
        "Date of Birth",
        "fecha_nacimiento",
        "date_de_naissance",
        "Geburtsdatum",
        "data_di_nascita",
        "chusheng_riqi",
        "home_address",
        "direccion",
        "Adresse",
        "endereco",
        "indirizzo",
        "dizhi",
        "ZipCode",
        "codigo_postal",
        "PLZ",
        "youbian",
        "phone_no",
        "Tel",
        "telefono",
        "Handy",
        "portable",
        "dianhua",
        "shouji",
        "eMail",
        "correo_electronico",
        "courriel",
        "youxiang",
        "SSN",
        "social_security_no",
        "NINO",
        "DNI",
        "CPF",
        "codice_fiscale",
        "shenfenzheng",
        "MRN",
        "med_rec_no",
        "hospital_number",
        "NHS number",
        "historia_clinica",
        "member_id",
        "policy_number",
        "IBAN",
        "drivers_licence",
        "licence_plate",
        "VIN",
        "serial_no",
        "device_id",
        "IMEI",
        "URL",
        "website",
        "ip_address",
        "photo",
        "fingerprint",
        "visit_date",
        "visitDate",
        "fecha_visita",
        "Datum",
        "admission_dt",
        "city",
        "ciudad",
        "ville",
        "Stadt",
        "cidade",
        "citta",
    ],
)
def test_identifier_column_names_in_several_languages(name):
    frame = _long({name: [f"X{i}" for i in range(10)]})
    flags = phi.scan(frame, "patient_id")
    assert [f.column for f in flags] == [name]
    assert flags[0].reason.startswith("its name suggests")


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("consent_phone_contact", ["yes", "no"] * 5),
        ("email_reminder", [1, 0] * 5),
        ("contact_method", ["phone", "email"] * 5),
        ("insurance_type", ["private", "public"] * 5),
        ("zip_region", ["north", "south"] * 5),
        ("birth_year", list(range(1950, 1960))),
        ("visit_date_offset", [-6, 0] * 5),
        ("date_precision", ["day", "month"] * 5),
        ("update_count", list(range(10))),
        ("candidate_drug", ["A", "B"] * 5),
        ("nombre_visites", [3, 4] * 5),
        ("cell_source", ["umbilical cord", "bone marrow"] * 5),
        ("serial_measurements", [2, 3] * 5),
    ],
)
def test_identifier_like_names_pass_when_values_plainly_identify_nobody(name, values):
    assert phi.scan(_long({name: values}), "patient_id") == []


def test_names_and_places_stay_flagged_even_as_a_few_categories():
    frame = _long({"city": ["Boston", "Lyon"] * 5, "name": ["Jane Roe", "Omar Haddad"] * 5})
    assert [f.column for f in phi.scan(frame, "patient_id")] == ["city", "name"]


@pytest.mark.parametrize(
    "value",
    ["LOT-2023-0412", "23-04-12", "1.2.3.4", "10.2.1.3", "v2.10.1", "A23-04-12", "Site 01"],
)
def test_lot_numbers_and_version_strings_are_not_dates_phones_or_addresses(value):
    frame = _long({"batch": [value] * 10, "analyser": [value] * 10})
    assert phi.scan(frame, "patient_id") == []


def test_reserved_test_domains_are_not_urls():
    frame = _long({"site": ["[link](http://x.test)"] * 5 + ['=HYPERLINK("http://x")'] * 5})
    assert phi.scan(frame, "patient_id") == []


def test_calendar_dates_found_by_value_can_become_days_since_treatment():
    frame = _long({})
    frame = pd.concat([frame, frame.assign(visit="m6")], ignore_index=True)
    frame["infusion"] = "2024-03-01"
    frame["seen"] = ["2024-02-28"] * 10 + ["2024-09-01"] * 10
    result = load_bytes(_csv(frame), "dates.csv")
    assert result.date_columns == ["infusion", "seen"] and result.can_convert_dates
    converted = load_bytes(_csv(frame), "dates.csv", convert_dates=True)
    assert converted.dataset is not None, converted.report.as_text()
    assert sorted(converted.dataset.long["day"].unique()) == [-2, 184]


def test_serial_dates_convert_to_days():
    frame = pd.DataFrame({"pid": ["P1", "P1"], "treated": [45352, 45352], "seen": [45350, 45536]})
    result, _ = phi.dates_to_days(frame, "pid", ["treated", "seen"], "treated")
    assert result["day"].tolist() == [-2, 184]


def test_the_scan_benchmark_runs():
    assert phi.bench_phi_scan(20_000, repeat=1) < 30
