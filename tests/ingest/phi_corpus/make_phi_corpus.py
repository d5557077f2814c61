"""Write the PHI guard corpus: files that carry a HIPAA Safe Harbor identifier (each must be
refused, naming the column) and clean look-alikes (each must load). Every identifier here is
synthetic: made-up names, reserved phone ranges (555-01xx, Ofcom drama numbers), documentation
IP ranges (RFC 5737/3849), check-digit-valid but invented national numbers.

Run: python tests/ingest/phi_corpus/make_phi_corpus.py (writes the files and expected.csv;
deterministic except the timestamps openpyxl puts in XLSX files)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
N = 10  # patients per file
IDS = [f"P{i:03d}" for i in range(1, N + 1)]

FIRST = ["Jane", "Omar", "Li", "Ana", "Pierre", "Greta", "Luca", "Sofia", "Kwame", "Ines"]
LAST = ["Roe", "Haddad", "Wen", "Souza", "Martin", "Vogel", "Bianchi", "Garcia", "Mensah", "Costa"]


def _cpf(base: str) -> str:
    digits = [int(c) for c in base]
    for n in (9, 10):
        total = sum(d * w for d, w in zip(digits[:n], range(n + 1, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)
    text = "".join(map(str, digits))
    return f"{text[:3]}.{text[3:6]}.{text[6:9]}-{text[9:]}"


def _dni(number: int) -> str:
    return f"{number:08d}" + "TRWAGMYFPDXBNJZSQVHLCKE"[number % 23]


def _china_id(region: str, birth: str, order: str) -> str:
    body = region + birth + order
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def _nir(sex: int, yy: int, mm: int, dept: int, commune: int, order: int) -> str:
    number = int(f"{sex}{yy:02d}{mm:02d}{dept:02d}{commune:03d}{order:03d}")
    return f"{sex} {yy:02d} {mm:02d} {dept:02d} {commune:03d} {order:03d} {97 - number % 97:02d}"


def _luhn(prefix: str) -> str:
    digits = [int(c) for c in prefix]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += d * 2 - 9 if i % 2 == 0 and d > 4 else d * 2 if i % 2 == 0 else d
    check = (10 - total % 10) % 10
    full = prefix + str(check)
    return " ".join(full[i : i + 4] for i in range(0, 16, 4))


def per_patient(make) -> list[object]:
    return [make(i) for i in range(N)]


# name of file (without extension): (column, values per patient, format, id values or None)
IDENTIFIERS: dict[str, tuple[str, list[object], str]] = {
    "full_name": ("full_name", per_patient(lambda i: f"{FIRST[i]} {LAST[i]}"), "csv"),
    "patient_name_camel": ("PatientName", per_patient(lambda i: f"{LAST[i]}, {FIRST[i]}"), "csv"),
    "hanzi_name": (
        "xingming",
        ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞"],
        "csv",
    ),
    "spanish_nombre": ("nombre", per_patient(lambda i: f"María {LAST[i]}"), "csv"),
    "spanish_apellidos": ("apellidos", per_patient(lambda i: f"{LAST[i]} López"), "csv"),
    "french_prenom": ("prénom", per_patient(lambda i: FIRST[i]), "csv"),
    "german_vorname": ("Vorname", per_patient(lambda i: FIRST[i]), "csv"),
    "italian_cognome": ("cognome", per_patient(lambda i: LAST[i]), "csv"),
    "portuguese_nome_paciente": (
        "nome_do_paciente",
        per_patient(lambda i: f"{FIRST[i]} {LAST[i]}"),
        "csv",
    ),
    "pt_name_abbrev": ("pt_nm", per_patient(lambda i: f"{FIRST[i]} {LAST[i]}"), "csv"),
    "emergency_contact_name": (
        "emergency_contact_name",
        per_patient(lambda i: f"{FIRST[i]} {LAST[i]}"),
        "csv",
    ),
    "names_in_neutral_column": (
        "referred_by_family",
        per_patient(lambda i: f"{FIRST[i]} {LAST[i]}"),
        "csv",
    ),
    "initials": ("initials", per_patient(lambda i: f"{FIRST[i][0]}.{LAST[i][0]}."), "csv"),
    "dob_iso": ("dob", per_patient(lambda i: f"19{50 + i}-02-{i + 3:02d}"), "csv"),
    "fecha_nacimiento": (
        "fecha_nacimiento",
        per_patient(lambda i: f"{i + 3:02d}/02/19{50 + i}"),
        "csv",
    ),
    "date_de_naissance": (
        "date de naissance",
        per_patient(lambda i: f"{i + 3} mars 19{50 + i}"),
        "csv",
    ),
    "geburtsdatum": ("Geburtsdatum", per_patient(lambda i: f"{i + 3:02d}.02.19{50 + i}"), "csv"),
    "data_nascimento": (
        "data_nascimento",
        per_patient(lambda i: f"{i + 3} de fevereiro de 19{50 + i}"),
        "csv",
    ),
    "chusheng_riqi": ("chusheng_riqi", per_patient(lambda i: f"19{50 + i}年2月{i + 3}日"), "csv"),
    "email_in_contact": (
        "contact",
        per_patient(lambda i: f"{FIRST[i].lower()}.{LAST[i].lower()}@mailbox.org"),
        "csv",
    ),
    "courriel": ("courriel", per_patient(lambda i: f"{FIRST[i].lower()}@exemple-sante.fr"), "csv"),
    "email_in_notes": (
        "notes",
        per_patient(
            lambda i: f"results sent to {FIRST[i].lower()}{i}@gmail.com" if i == 4 else "stable"
        ),
        "csv",
    ),
    "phone_nanp": ("callback", per_patient(lambda i: f"(555) 234-01{i:02d}"), "csv"),
    "telefono_international": ("telefono", per_patient(lambda i: f"+34 612 345 6{i:02d}"), "csv"),
    "french_portable": ("portable", per_patient(lambda i: f"06 12 34 56 {i + 10}"), "csv"),
    "german_handy": ("Handy", per_patient(lambda i: f"0171 23456{i:02d}"), "csv"),
    "phone_as_number": ("callback_no", per_patient(lambda i: 5552340100 + i * 7), "parquet"),
    "phone_in_notes": (
        "notes",
        per_patient(
            lambda i: f"call back on 555-234-01{i:02d} after 6pm" if i == 2 else "no change"
        ),
        "csv",
    ),
    "china_mobile_in_notes": (
        "beizhu",
        per_patient(lambda i: f"联系 138 1234 56{i:02d}" if i == 1 else "稳定"),
        "csv",
    ),
    "brazil_phone": (
        "observacao",
        per_patient(lambda i: f"ligar (11) 91234-56{i:02d}" if i < 3 else "ok"),
        "csv",
    ),
    "ssn_dashed": ("ssn", per_patient(lambda i: f"219-09-{9990 + i}"), "csv"),
    "ssn_as_number": ("ref_code", per_patient(lambda i: 219099990 + i * 13), "parquet"),
    "ssn_in_text": (
        "remarks",
        per_patient(lambda i: f"SSN 219-09-{9990 + i} on file" if i == 0 else ""),
        "csv",
    ),
    "dni": ("documento", per_patient(lambda i: _dni(12345670 + i)), "csv"),
    "cpf": ("doc", per_patient(lambda i: _cpf(f"52998224{i}")), "csv"),
    "china_resident_id": (
        "zhengjian",
        per_patient(lambda i: _china_id("110105", f"19{50 + i}0203", f"00{i}")),
        "csv",
    ),
    "french_nir": (
        "numero",
        per_patient(lambda i: _nir(1 + i % 2, 50 + i, 2, 75, 110, 100 + i)),
        "csv",
    ),
    "codice_fiscale": (
        "cf",
        [
            "RSSMRA85T10A562S",
            "BNCLCU80A01H501U",
            "VRDGPP70C15F205X",
            "RSSMRA85T10A562S",
            "BNCLCU80A01H501U",
            "VRDGPP70C15F205X",
            "RSSMRA85T10A562S",
            "BNCLCU80A01H501U",
            "VRDGPP70C15F205X",
            "RSSMRA85T10A562S",
        ],
        "csv",
    ),
    "card_number": ("payment", per_patient(lambda i: _luhn(f"411111111111111{i}"[:15])), "csv"),
    "street_english": ("home", per_patient(lambda i: f"{12 + i} Oak Street"), "csv"),
    "street_in_notes": (
        "notes",
        per_patient(lambda i: f"moved to {40 + i} Maple Avenue last year" if i == 7 else "stable"),
        "csv",
    ),
    "calle": ("info", per_patient(lambda i: f"Calle Mayor {5 + i}"), "csv"),
    "rue": (
        "commentaire",
        per_patient(lambda i: f"habite {12 + i} rue de la Paix" if i == 3 else "RAS"),
        "csv",
    ),
    "strasse": (
        "bemerkung",
        per_patient(lambda i: f"Hauptstraße {12 + i}, 10115 Berlin" if i == 5 else "stabil"),
        "csv",
    ),
    "rua": (
        "comentario",
        per_patient(lambda i: f"Rua Augusta, {100 + i}" if i == 6 else "sem alterações"),
        "csv",
    ),
    "via": (
        "nota",
        per_patient(lambda i: f"abita in Via Roma {10 + i}" if i == 8 else "stabile"),
        "csv",
    ),
    "pinyin_address": ("zhuzhi", per_patient(lambda i: f"Zhongshan Lu {100 + i} Hao"), "csv"),
    "state_zip_in_text": (
        "notes",
        per_patient(lambda i: f"lives in Cambridge, MA 0213{i}" if i == 9 else "stable"),
        "csv",
    ),
    "zip": ("zip", per_patient(lambda i: f"0213{i}"), "csv"),
    "zip_plus4_neutral": ("area", per_patient(lambda i: f"0213{i}-43{i:02d}"), "csv"),
    "uk_postcode_neutral": ("location_code", per_patient(lambda i: f"SW1A {i}AA"), "csv"),
    "plz": ("PLZ", per_patient(lambda i: 10115 + i), "parquet"),
    "codigo_postal": ("codigo postal", per_patient(lambda i: f"2801{i}"), "csv"),
    "city": ("city", per_patient(lambda i: ["Boston", "Lyon", "Porto"][i % 3]), "csv"),
    "ville": ("ville", per_patient(lambda i: ["Lyon", "Nantes"][i % 2]), "csv"),
    "mrn": ("mrn", per_patient(lambda i: f"{4471920 + i}"), "csv"),
    "hospital_number": ("hospital number", per_patient(lambda i: f"H{88213 + i}"), "csv"),
    "nhs_no": ("nhs_no", per_patient(lambda i: f"943 476 59{i:02d}"), "csv"),
    "mrn_in_notes": (
        "notes",
        per_patient(lambda i: f"MRN: {4471920 + i}" if i == 0 else "ok"),
        "csv",
    ),
    "member_id": ("member_id", per_patient(lambda i: f"XYZ{123456 + i}"), "csv"),
    "member_in_notes": (
        "notes",
        per_patient(lambda i: f"Member ID: XYZ{123456 + i}" if i == 1 else "ok"),
        "csv",
    ),
    "drivers_license": ("drivers_license", per_patient(lambda i: f"D{1234567 + i}"), "csv"),
    "licence_plate": ("Kennzeichen", per_patient(lambda i: f"B-XY {100 + i}"), "csv"),
    "device_serial": ("pump_serial", per_patient(lambda i: f"SN{90000 + i}"), "csv"),
    "url_with_scheme": (
        "link",
        per_patient(lambda i: f"https://www.roe-family-photos.net/album/{i}"),
        "csv",
    ),
    "url_without_scheme": (
        "portal",
        per_patient(lambda i: f"portal.clinic-records.org/patient/{4471 + i}"),
        "csv",
    ),
    "www_url": ("pagina", per_patient(lambda i: f"www.roe-family{i}.com"), "csv"),
    "ip_in_context": ("audit", per_patient(lambda i: f"uploaded from 198.51.100.{20 + i}"), "csv"),
    "ip_bare": ("origin", per_patient(lambda i: f"203.0.113.{50 + i}"), "csv"),
    "ipv6": ("peer", per_patient(lambda i: f"2001:db8::8a2e:370:{7334 + i}"), "csv"),
    "mac_address": ("sensor", per_patient(lambda i: f"00:1A:2B:3C:4D:{i:02X}"), "csv"),
    "photo": ("photo", per_patient(lambda i: f"img/patient_{i}.jpg"), "csv"),
    "titled_name_in_notes": (
        "notes",
        per_patient(lambda i: f"Mrs {LAST[i]} reports less pain" if i == 3 else "less pain"),
        "csv",
    ),
    "labelled_name_in_notes": (
        "notes",
        per_patient(lambda i: f"Name: {FIRST[i]} {LAST[i]}; stable" if i == 2 else "stable"),
        "csv",
    ),
    "visit_date": ("visit_date", per_patient(lambda i: f"2024-0{1 + i % 9}-15"), "csv"),
    "date_in_notes": (
        "notes",
        per_patient(lambda i: "seen on 04/03/2021, stable" if i == 5 else "stable"),
        "csv",
    ),
    "month_name_date": ("seen", per_patient(lambda i: f"March {i + 3}, 2021"), "csv"),
    "serial_dates": ("enrolled", per_patient(lambda i: 44927 + i * 3), "parquet"),
    "month_year": ("onset", per_patient(lambda i: f"March 20{10 + i}"), "csv"),
    "two_digit_year": ("followup_on", per_patient(lambda i: f"{i + 1}/4/21"), "csv"),
    "compact_date": ("ref", per_patient(lambda i: f"202103{i + 10}"), "csv"),
    "xlsx_datetime": ("enrolled", per_patient(lambda i: dt.datetime(2024, 1, 5 + i)), "xlsx"),
    "parquet_datetime": (
        "randomised",
        per_patient(lambda i: pd.Timestamp(2023, 3, 1 + i)),
        "parquet",
    ),
    "xlsx_names": ("Name", per_patient(lambda i: f"{FIRST[i]} {LAST[i]}"), "xlsx"),
}
# The patient ID column itself carries the identifier.
ID_IDENTIFIERS: dict[str, list[str]] = {
    "id_is_email": [f"{FIRST[i].lower()}.{LAST[i].lower()}@mailbox.org" for i in range(N)],
    "id_is_name": [f"{FIRST[i]} {LAST[i]}" for i in range(N)],
    "id_is_ssn": [f"219-09-{9990 + i}" for i in range(N)],
    "id_is_mrn": [f"MRN{4471920 + i}" for i in range(N)],
    "id_is_nine_digits": [f"{219099990 + i * 13}" for i in range(N)],
    "id_is_phone": [f"(555) 234-01{i:02d}" for i in range(N)],
}

CLEAN: dict[str, tuple[str, list[object], str]] = {
    "consent_phone_contact": (
        "consent_phone_contact",
        per_patient(lambda i: ["yes", "no"][i % 2]),
        "csv",
    ),
    "email_reminder": ("email_reminder", per_patient(lambda i: ["Y", "N"][i % 2]), "csv"),
    "contact_method": (
        "contact_method",
        per_patient(lambda i: ["phone", "email", "letter"][i % 3]),
        "csv",
    ),
    "insurance_type": (
        "insurance_type",
        per_patient(lambda i: ["private", "public", "none"][i % 3]),
        "csv",
    ),
    "insurance": ("insurance", per_patient(lambda i: ["private", "public"][i % 2]), "csv"),
    "insurer": ("insurer", per_patient(lambda i: ["Aetna", "Medicare"][i % 2]), "csv"),
    "zip_region": ("zip_region", per_patient(lambda i: ["north", "south"][i % 2]), "csv"),
    "address_verified": (
        "address_verified",
        per_patient(lambda i: ["true", "false"][i % 2]),
        "csv",
    ),
    "address_type": ("address_type", per_patient(lambda i: ["home", "work"][i % 2]), "csv"),
    "region": ("region", per_patient(lambda i: ["Northeast", "Midwest", "South"][i % 3]), "csv"),
    "birth_year": ("birth_year", per_patient(lambda i: 1950 + i), "csv"),
    "year_of_birth_parquet": ("year_of_birth", per_patient(lambda i: 1950 + i), "parquet"),
    "date_known": ("date_known", per_patient(lambda i: ["yes", "no"][i % 2]), "csv"),
    "date_precision": ("date_precision", per_patient(lambda i: ["day", "month"][i % 2]), "csv"),
    "visit_date_offset_days": (
        "visit_date_offset",
        per_patient(lambda i: [-6, 0, 90][i % 3]),
        "csv",
    ),
    "fecha_relativa": ("fecha_relativa_dias", per_patient(lambda i: [-3, 0, 180][i % 3]), "csv"),
    "lot_number": ("lot_number", per_patient(lambda i: f"LOT-2023-04{i + 10}"), "csv"),
    "batch_date_coded": ("batch", per_patient(lambda i: f"23-04-{i + 10}"), "csv"),
    "kit_lot": ("kit", per_patient(lambda i: f"A23-04-{i + 10}"), "csv"),
    "software_version": ("software_version", per_patient(lambda i: f"1.2.{i}.4"), "csv"),
    "version_in_neutral_column": ("analyser", per_patient(lambda i: f"10.2.1.{i}"), "csv"),
    "assay_version": ("assay", per_patient(lambda i: f"v2.{10 + i}.1"), "csv"),
    "dose_cells_round": ("dose_cells", per_patient(lambda i: [1e6, 5e7, 1e8][i % 3]), "parquet"),
    "total_cells_round": ("total_cells", per_patient(lambda i: [2.3e9, 1.2e10][i % 2]), "parquet"),
    "platelets": ("platelets", per_patient(lambda i: 150000 + i * 12345), "csv"),
    "long_decimals": ("sural_amplitude", per_patient(lambda i: f"19.2838847300433{i:02d}"), "csv"),
    "cell_count_float": ("cell_count", per_patient(lambda i: 123456.7 + i), "csv"),
    "notes_plain": (
        "notes",
        per_patient(lambda i: ["stable, no adverse events", "pain 7/10 at 3 months"][i % 2]),
        "csv",
    ),
    "notes_dose": (
        "notes",
        per_patient(lambda i: "dose 2 x 10^6 cells/kg given via IM route"),
        "csv",
    ),
    "notes_phone_word": (
        "comment",
        per_patient(lambda i: ["follow-up by phone", "seen in clinic"][i % 2]),
        "csv",
    ),
    "site_codes": ("site", per_patient(lambda i: f"Site {i % 3 + 1:02d}"), "csv"),
    "site_name": (
        "site_name",
        per_patient(lambda i: ["Boston General Hospital", "Lyon Sud University Clinic"][i % 2]),
        "csv",
    ),
    "investigator": (
        "investigator",
        per_patient(lambda i: ["Dr A. Smith", "Dr B. Jones"][i % 2]),
        "csv",
    ),
    "device_type": ("device_type", per_patient(lambda i: ["pump A", "pump B"][i % 2]), "csv"),
    "phone_followup_done": (
        "phone_followup_done",
        per_patient(lambda i: ["yes", "no"][i % 2]),
        "csv",
    ),
    "web_survey": ("web_survey_completed", per_patient(lambda i: ["true", "false"][i % 2]), "csv"),
    "route": ("route", per_patient(lambda i: ["intramuscular", "intra-arterial"][i % 2]), "csv"),
    "cell_source": (
        "cell_source",
        per_patient(lambda i: ["umbilical cord", "bone marrow"][i % 2]),
        "csv",
    ),
    "score_text": ("summary", per_patient(lambda i: f"{12 + i} ({40 + i}%)"), "csv"),
    "ranges": ("range", per_patient(lambda i: f"{10 + i}-{20 + i}"), "csv"),
    "age_band": ("age_band", per_patient(lambda i: ["<50", "50-59", "70+"][i % 3]), "csv"),
    "protocol": ("protocol", per_patient(lambda i: "DPN-MSC-2021-04"), "csv"),
    "clinic_time": ("clinic_time", per_patient(lambda i: f"{9 + i % 3:02d}:30"), "csv"),
    "weight": ("weight_kg", per_patient(lambda i: 70.5 + i), "csv"),
    "study_arm": ("arm", per_patient(lambda i: ["MSC", "placebo"][i % 2]), "csv"),
    "country": ("country_of_birth", per_patient(lambda i: ["Spain", "France"][i % 2]), "csv"),
    "state": ("state", per_patient(lambda i: ["MA", "CA"][i % 2]), "csv"),
    "language": ("language", per_patient(lambda i: ["es", "fr", "de"][i % 3]), "csv"),
    "mail_consent_fr": (
        "consentement_courriel",
        per_patient(lambda i: ["oui", "non"][i % 2]),
        "csv",
    ),
    "telefono_ok_es": ("telefono_ok", per_patient(lambda i: ["sí", "no"][i % 2]), "csv"),
    "email_sent_numeric": ("email_sent", per_patient(lambda i: i % 2), "parquet"),
    "zip_code_available": (
        "zip_code_available",
        per_patient(lambda i: ["yes", "no"][i % 2]),
        "csv",
    ),
    "cell_phone_provided": ("cell_phone_provided", per_patient(lambda i: ["Y", "N"][i % 2]), "csv"),
    "percent_change": ("percent_change", per_patient(lambda i: f"-{30 + i}.5%"), "csv"),
    "serial_measurement_count": ("serial_measurement_count", per_patient(lambda i: i + 2), "csv"),
    "hba1c_text": ("hba1c", per_patient(lambda i: f"{7 + i / 10:.1f}"), "csv"),
    "nombre_visitas_fr": ("nombre_visites", per_patient(lambda i: 3 + i % 2), "csv"),
    "data_source": ("data_source", per_patient(lambda i: ["registry", "trial"][i % 2]), "csv"),
    "photo_sensitivity": ("photo_sensitivity", per_patient(lambda i: ["yes", "no"][i % 2]), "csv"),
    "notes_website_reserved": (
        "notes",
        per_patient(lambda i: "see https://trial.example.org/protocol"),
        "csv",
    ),
    "xlsx_categories": (
        "insurance_type",
        per_patient(lambda i: ["private", "public"][i % 2]),
        "xlsx",
    ),
}
# Patient IDs of every usual kind stay allowed.
CLEAN_IDS: dict[str, list[str]] = {
    "ids_p007": [f"P{i:03d}" for i in range(1, N + 1)],
    "ids_leading_zeros": [f"{i:03d}" for i in range(1, N + 1)],
    "ids_msc": [f"MSC-{i:03d}" for i in range(1, N + 1)],
    "ids_pt": [f"PT{i}" for i in range(1, N + 1)],
    "ids_site_patient": [f"01-{i:04d}" for i in range(1, N + 1)],
}


def _frame(ids: list[str], column: str | None, values: list[object] | None) -> pd.DataFrame:
    rows = []
    for i, pid in enumerate(ids):
        for visit, value in (("baseline", 7 - i % 3), ("m6", 4 + i % 2)):
            row: dict[str, object] = {"patient_id": pid, "visit": visit, "outcome": "pain_nrs",
                                      "value": value}  # fmt: skip
            if column is not None and values is not None:
                row[column] = values[i]
            rows.append(row)
    return pd.DataFrame(rows)


def _write(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "csv":
        return frame.to_csv(index=False, quoting=csv.QUOTE_MINIMAL).encode("utf-8")
    buffer = io.BytesIO()
    if fmt == "parquet":
        frame.to_parquet(buffer, index=False)
    else:
        frame.to_excel(buffer, index=False, engine="openpyxl")
    return buffer.getvalue()


def files() -> tuple[dict[str, bytes], list[tuple[str, str, str]]]:
    out: dict[str, bytes] = {}
    expected: list[tuple[str, str, str]] = []
    for n, (key, (column, values, fmt)) in enumerate(IDENTIFIERS.items(), start=1):
        name = f"id_{n:02d}_{key}.{fmt}"
        out[name] = _write(_frame(IDS, column, values), fmt)
        expected.append((name, "identifier", column))
    for n, (key, ids) in enumerate(ID_IDENTIFIERS.items(), start=len(IDENTIFIERS) + 1):
        name = f"id_{n:02d}_{key}.csv"
        out[name] = _write(_frame(ids, None, None), "csv")
        expected.append((name, "identifier", "patient_id"))
    for n, (key, (column, values, fmt)) in enumerate(CLEAN.items(), start=1):
        name = f"clean_{n:02d}_{key}.{fmt}"
        out[name] = _write(_frame(IDS, column, values), fmt)
        expected.append((name, "clean", column))
    for n, (key, ids) in enumerate(CLEAN_IDS.items(), start=len(CLEAN) + 1):
        name = f"clean_{n:02d}_{key}.csv"
        out[name] = _write(_frame(ids, None, None), "csv")
        expected.append((name, "clean", "patient_id"))
    return out, expected


def main() -> None:
    for old in HERE.iterdir():
        if old.name.startswith(("id_", "clean_")):
            old.unlink()
    written, expected = files()
    for name, data in written.items():
        (HERE / name).write_bytes(data)
    with open(HERE / "expected.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "kind", "column"])
        writer.writerows(expected)
    kinds = [kind for _, kind, _ in expected]
    print(f"{kinds.count('identifier')} identifier files, {kinds.count('clean')} clean files")


if __name__ == "__main__":
    main()
