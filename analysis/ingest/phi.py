"""PHI guard: find HIPAA Safe Harbor identifiers (45 CFR 164.514(b)(2)) before anything is shown.

Every column is scanned, the patient ID and numeric columns included, on every row: each
distinct value is looked at once (a categorical column's categories, a text column's unique
values), first by one combined pattern in Arrow's regular-expression engine, then, for the few
candidates, by the exact Python rules below.

- **Column names** (abbreviations, compounds and the common words of English, Spanish, French,
  German, Portuguese, Italian and Chinese pinyin): a person's name, date of birth, address,
  city, ZIP or postal code, phone or fax, e-mail, social security or national ID, medical
  record, health plan or account, licence, vehicle or device number, URL or IP address,
  photograph or biometric, calendar date. A column so named passes when its values plainly
  identify nobody: yes/no answers, a few categories shared by several patients (not for
  names and places, where a category is still identifying), or small numbers under a date name.
- **Values, flagged on any match**, anywhere in a cell (free text included): e-mail addresses,
  URLs (with or without a scheme; reserved test domains excepted), IP and MAC addresses,
  social security numbers and national ID numbers with check digits (Spanish DNI/NIE,
  Brazilian CPF, Chinese resident ID, French NIR, Italian codice fiscale), phone numbers in
  international, North American and several national layouts or after a word such as "tel",
  street addresses (English, Spanish, French, German, Portuguese, Italian, pinyin layouts),
  "State ZIP", PO boxes, calendar dates with a four-digit year in any common layout or
  language, names after a title (Mr, Mrs, Sra., Mme, Herr, ...) or a label ("Name:"), record
  and member numbers after their label.
- **Values, flagged by share** (weaker patterns, at least 30% of the distinct values, 50% for
  bare numbers): dates with a two-digit year, month and year, compact YYYYMMDD, ZIP+4 and
  postal codes, phone numbers without separators or in national layouts, bare 9-digit
  numbers shaped like social security numbers, first-and-last-name values that are one per
  patient, patient IDs that are record numbers (9+ digits, or an MRN prefix).
- **Numbers**: 9-digit and 10-13 digit integers shaped like social security or phone numbers,
  spreadsheet serial dates under a name that suggests an event.

A name in free text is caught only through such context (a title, a label), never from a list
of names. The file is not loaded while flagged columns remain; the user can drop them, and
calendar dates can be turned into days since treatment instead.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Flag:
    """A column refused by the guard: its name, the rule with an example, whether it holds dates."""

    column: str
    reason: str
    is_date: bool = False


# ---- column names --------------------------------------------------------------------------

_REASON_NAME = "a person's name"
_REASON_DOB = "a date of birth"
_REASON_ADDRESS = "a street address"
_REASON_PLACE = "a city, town or other place smaller than a state"
_REASON_ZIP = "a ZIP or postal code"
_REASON_PHONE = "a phone or fax number"
_REASON_EMAIL = "an e-mail address"
_REASON_SSN = "a social security or national ID number"
_REASON_MRN = "a medical record number"
_REASON_PLAN = "a health plan or account number"
_REASON_LICENCE = "a licence, vehicle or device number"
_REASON_WEB = "a URL or IP address"
_REASON_BIO = "a photograph or biometric identifier"
_REASON_DATE = "a calendar date"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(frozen=True)
class _NameRule:
    """How a column name says it holds an identifier.

    ``words``: tokens that say so on their own. ``ambiguous``: tokens that say so only when
    they are the whole name (stop words aside) or come with one of ``qualifiers``.
    ``phrases``: token sequences (in order, not necessarily adjacent). ``exact``: names that
    say so only as the whole name. ``unless``: tokens that turn a match off. ``strict``: a
    small set of categories is still an identifier (names, places)."""

    reason: str
    words: frozenset[str] = frozenset()
    ambiguous: frozenset[str] = frozenset()
    qualifiers: frozenset[str] = frozenset()
    phrases: tuple[tuple[str, ...], ...] = ()
    exact: frozenset[str] = frozenset()
    unless: frozenset[str] = frozenset()
    strict: bool = False
    is_date: bool = False
    value_check: Callable[[list[str]], bool] | None = None  # for ``exact`` names only


_NUMBER_WORDS = _words("no nr num number numbers numero nummer numeros id ids code hao haoma #")
_PERSON = _words(
    "patient patients pt pat pts subject participant client person first last middle given "
    "family full maiden birth mother father parent parents spouse partner husband wife child "
    "contact emergency kin relative caregiver carer guardian paciente pacientes patiente "
    "patienten paziente doente usuario utente madre padre mere pere mutter vater mae pai "
    "conyuge completo complet complete vollstandiger famille familia famiglia huanzhe bingren "
    "own legal preferred"
)
_GEO_LARGE = _words(
    "country countries state states region regions province provincia nation national land "
    "pais pays paese estado estados bundesland continent guo sheng"
)
_YEARS = _words("year years yr yrs yyyy ano anos anio annee jahr jahre anno anni nian")
_NOT_DATE = _words(
    "weight length order rank gestational gestation size height control cohort defect "
    "defects country place city town lieu ort lugar luogo local sex gender"
)
_PLACE_WORDS = _words(
    "place lieu ort lugar luogo local city town village commune stadt cidade ciudad citta"
)


def _postcodes(values: list[str]) -> bool:
    shaped = [v for v in values if re.fullmatch(r"\d{4,5}|\d{5}-\d{3,4}|\d{2}[ .]?\d{3}", v)]
    return len(shaped) >= 0.5 * len(values) > 0


_NAME_RULES: list[_NameRule] = [
    _NameRule(
        _REASON_EMAIL,
        words=_words(
            "email emails mail emailaddress emailadresse courriel correo correoelectronico "
            "youxiang dianziyoujian 邮箱 电子邮件 邮件"
        ),
    ),
    _NameRule(
        _REASON_WEB,
        words=_words(
            "url urls uri website websites webpage homepage weblink hyperlink ip ipaddress "
            "ipaddr ipv4 ipv6 hostname wangzhi 网址"
        ),
        ambiguous=_words("web site"),
        qualifiers=_words("address page link url"),
    ),
    _NameRule(
        _REASON_LICENCE,
        words=_words(
            "licence license licences licenses licenceno licenseno licensenumber "
            "licencenumber driverslicense driverslicence vin vehicle vehicles licenseplate "
            "licenceplate numberplate kennzeichen matricula immatriculation targa chepai 车牌 "
            "serialnumber serialno imei udi deviceid deviceserial implantserial numeroserie "
            "seriennummer xuliehao 序列号 fuhrerschein permisdeconduire macaddress"
        ),
        ambiguous=_words("serial device plate placa patente implant pacemaker pump"),
        qualifiers=_NUMBER_WORDS | _words("serial udi licence license car vehicle"),
        phrases=(("mac", "address"), ("driver", "licence"), ("driving", "licence")),
        exact=_words("sn dl"),
        unless=_words("type types model brand kind category"),
    ),
    _NameRule(
        _REASON_SSN,
        words=_words(
            "ssn ssns socialsecurity socsec ssnumber nino nationalid nationalinsurance dni nie "
            "nif nss curp cpf nir insee secu securitesociale sozialversicherungsnummer svnr "
            "steuerid steuernummer codicefiscale shenfenzheng shenfenzhenghao sfz 身份证 "
            "身份证号 passport passports pasaporte passeport reisepass passaporto taxid "
            "personnummer bsn pesel cedula rut personalausweis ausweisnummer"
        ),
        phrases=(
            ("social", "security"),
            ("social", "insurance"),
            ("national", "insurance"),
            ("national", "identity"),
            ("identity", "card"),
            ("identity", "number"),
            ("id", "card"),
            ("carte", "identite"),
            ("cartao", "cidadao"),
            ("codice", "fiscale"),
            ("seguridad", "social"),
            ("securite", "sociale"),
            ("seguranca", "social"),
            ("previdenza", "sociale"),
            ("tax", "id"),
            ("tax", "number"),
            ("national", "id"),
            ("national", "number"),
        ),
        exact=_words("sin nin tin rg ein cc"),
    ),
    _NameRule(
        _REASON_MRN,
        words=_words(
            "mrn mrns medicalrecord medicalrecordnumber medrec medrecno chartno chartnumber "
            "hospitalnumber hospno hospnum nhsnumber nhsno chinumber nhc historiaclinica "
            "numerohistoria dossiermedical ipp fallnummer krankenaktennummer prontuario "
            "cartellaclinica binganhao zhuyuanhao menzhenhao 病案号 住院号 门诊号 ehrid emrid"
        ),
        phrases=(
            ("medical", "record"),
            ("med", "rec"),
            ("health", "record"),
            ("patient", "record"),
            ("historia", "clinica"),
            ("dossier", "medical"),
            ("numero", "historia"),
            ("cartella", "clinica"),
            ("record", "number"),
            ("record", "no"),
            ("record", "num"),
            ("record", "nr"),
            ("chart", "number"),
            ("chart", "no"),
            ("chart", "num"),
            ("chart", "id"),
            ("hospital", "number"),
            ("hospital", "no"),
            ("hospital", "num"),
            ("hospital", "id"),
            ("hosp", "no"),
            ("hosp", "id"),
            ("nhs", "number"),
            ("nhs", "no"),
            ("nhs", "num"),
            ("nhs", "id"),
            ("chi", "number"),
            ("ehr", "id"),
            ("emr", "id"),
        ),
        exact=_words("hc urn hn nhs"),
    ),
    _NameRule(
        _REASON_PLAN,
        words=_words(
            "healthplan insurance insurances insured insurer policyno policynumber memberid "
            "membernumber memberno subscriberid subscriber beneficiary medicare medicaid "
            "versichertennummer versicherungsnummer krankenkasse krankenversicherung "
            "tarjetasanitaria cartevitale tesserasanitaria cartaosus yibao yibaohao 医保号 "
            "account accounts accountnumber acct iban bankaccount creditcard cardnumber "
            "cuenta compte konto kontonummer conta conto zhanghao 账号 afiliacion afiliado "
            "mutuelle obrasocial seguro assurance assicurazione versicherung payer"
        ),
        ambiguous=_words("policy member plan card"),
        qualifiers=_NUMBER_WORDS | _words("holder health insurance credit bank"),
        phrases=(("health", "plan"), ("member", "id"), ("credit", "card")),
    ),
    _NameRule(
        _REASON_PHONE,
        words=_words(
            "phone phones telephone tel tele telefon telefono telefone phonenumber "
            "homephone cellphone mobilephone workphone mobile mobil movil celular cellulare "
            "handy handynummer fax telefax faxnumber dianhua shouji 电话 手机 whatsapp pager "
            "phoneno telno telnr phonenum portable"
        ),
        ambiguous=_words("cell contact"),
        qualifiers=_NUMBER_WORDS | _words("phone tel"),
        unless=_words("type types source sources count counts line lines culture"),
    ),
    _NameRule(
        _REASON_ZIP,
        words=_words(
            "zip zips zipcode zipcodes zip3 zip4 zip5 postcode postcodes postal postalcode "
            "postleitzahl plz codigopostal codepostal codicepostale youbian youzhengbianma "
            "邮编 邮政编码 cep"
        ),
        phrases=(
            ("zip", "code"),
            ("post", "code"),
            ("codigo", "postal"),
            ("code", "postal"),
            ("codice", "postale"),
            ("cod", "postal"),
        ),
        exact=_words("cp cap"),
        value_check=_postcodes,
    ),
    _NameRule(
        _REASON_DOB,
        words=_words(
            "dob dobs birthdate birthdates birthday bday dateofbirth geburtsdatum geburtstag "
            "gebdat gebdatum datanascimento datadinascita fechanacimiento fechadenacimiento "
            "chushengriqi shengri 出生日期 生日 ddn fnac dtnasc datenaiss"
        ),
        ambiguous=_words("birth born nacimiento naissance geburt nascimento nascita chusheng 出生"),
        qualifiers=_words("date day dt data datum fecha riqi de of di"),
        unless=_YEARS | _NOT_DATE,
    ),
    _NameRule(
        _REASON_ADDRESS,
        words=_words(
            "address addresses addr adress adresse adres streetaddress homeaddress "
            "mailingaddress street streets strasse calle rue rua indirizzo direccion "
            "domicilio domicile endereco morada anschrift wohnadresse dizhi zhuzhi jiedao 地址 "
            "住址 residence wohnort residencia residenza"
        ),
        unless=_GEO_LARGE | _words("email mail ip mac web url"),
        strict=True,
    ),
    _NameRule(
        _REASON_PLACE,
        words=_words(
            "city cities town towns village county counties municipality municipio ciudad "
            "localidad poblacion ville commune stadt gemeinde landkreis cidade citta comune "
            "chengshi 城市 neighbourhood neighborhood barrio quartier bairro quartiere suburb "
            "borough parish hamlet birthplace placeofbirth geburtsort naturalidade "
            "lugardenacimiento lieudenaissance luogodinascita hometown"
        ),
        phrases=(
            ("place", "birth"),
            ("lieu", "naissance"),
            ("lugar", "nacimiento"),
            ("luogo", "nascita"),
            ("local", "nascimento"),
            ("birth", "place"),
            ("birth", "city"),
            ("birth", "town"),
        ),
        unless=_GEO_LARGE,
        strict=True,
    ),
    _NameRule(
        _REASON_NAME,
        words=_words(
            "firstname firstnames lastname lastnames middlename fullname surname surnames "
            "forename forenames givenname givennames familyname maidenname nickname fname "
            "lname mname initials apellido apellidos nombrecompleto prenom prenoms "
            "nomdefamille vorname vornamen nachname familienname rufname geburtsname "
            "sobrenome cognome cognomi xingming xingshi mingzi 姓名 名字 patientname ptname"
        ),
        ambiguous=_words("name names nombre nombres nom nome nomi naam"),
        qualifiers=_PERSON,
        strict=True,
    ),
    _NameRule(
        _REASON_BIO,
        words=_words(
            "photo photos photograph photographs picture pictures portrait foto fotos selfie "
            "faceimage facephoto fingerprint fingerprints voiceprint biometric biometrics "
            "headshot irisscan retinascan zhaopian 照片 指纹"
        ),
        unless=_words("sensitivity sensitive therapy stimulation"),
    ),
    _NameRule(
        _REASON_DATE,
        words=_words(
            "date dates datum daten fecha fechas riqi 日期 datetime datetimes timestamp "
            "timestamps dt dod doa dateofdeath deathdate"
        ),
        ambiguous=_words("data"),
        qualifiers=_words(
            "de di da do del della visita consulta cirurgia intervento inclusao inclusione "
            "ingresso alta obito morte tratamento trattamento infusao infusione nascimento "
            "nascita ricovero dimissione inicio inizio fim fine"
        ),
        is_date=True,
    ),
]
_STOP = _words(
    "of the de del la las los el da do dos das di della du des le von der van y e et und"
)
_DATE_SUFFIX_EXCEPTIONS = _words(
    "update updates updated candidate candidates validate validated mandate mandated "
    "consolidate accommodate sedate sedated liquidate outdated"
)
_DATE_HINTS = _words(
    "enrolled enrollment enrolment randomized randomised randomization randomisation consent "
    "consented admitted admission discharged discharge onset surgery infused injected seen "
    "died death deceased diagnosed diagnosis treated treatment operated procedure visited "
    "when"
)
_SAFE_CONTEXT = _words(
    "lot lots batch batches version versions kit kits release build firmware software "
    "protocol amendment reagent"
)


def _ascii_fold(text: str) -> str:
    text = text.replace("ß", "ss").replace("ẞ", "SS")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _tokens(name: str) -> list[str]:
    """A column name as lower-case words: split at punctuation, spaces, digits and camelCase;
    accents removed; each run of Chinese characters kept as a word."""
    text = _ascii_fold(str(name))
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = text.casefold()
    words = re.findall(r"[a-z]+|\d+|[\u4e00-\u9fff]+|#", text)
    return [w for w in words if not w.isdigit()]


def _phrase_in(phrase: tuple[str, ...], tokens: list[str]) -> bool:
    at = 0
    for word in phrase:
        try:
            at = tokens.index(word, at) + 1
        except ValueError:
            return False
    return True


@dataclass(frozen=True)
class _NameHit:
    rule: _NameRule
    bare: bool  # the name is only identifier words (and people or stop words)


def _name_hit(column: str) -> _NameHit | None:
    tokens = _tokens(column)
    if not tokens:
        return None
    joined = "".join(tokens)
    content = [t for t in tokens if t not in _STOP]
    token_set = set(tokens)
    for rule in _NAME_RULES:
        if token_set & rule.unless:
            continue
        hit = (
            bool(token_set & rule.words)
            or joined in rule.words
            or any(_phrase_in(p, tokens) for p in rule.phrases)
            or (len(content) == 1 and content[0] in rule.exact and rule.value_check is None)
            or any(
                t in rule.ambiguous and (len(content) == 1 or (token_set - {t}) & rule.qualifiers)
                for t in tokens
            )
        )
        if rule.reason == _REASON_DATE and not hit:
            hit = any(
                (t.endswith(("date", "dates")) and t not in _DATE_SUFFIX_EXCEPTIONS)
                or (t.startswith("date") and t[4:] in _DATE_HINTS | _words("of visit"))
                for t in tokens
            )
        if hit:
            known = rule.words | rule.ambiguous | rule.qualifiers | rule.exact | _PERSON
            known = known | {w for p in rule.phrases for w in p} | _NUMBER_WORDS
            bare = all(t in known or t in _STOP or joined in rule.words for t in tokens)
            return _NameHit(rule, bare)
    return None


def _exact_name_rule(column: str) -> _NameRule | None:
    """A rule whose ``exact`` name needs its values to agree (cp, cap: postal codes?)."""
    content = [t for t in _tokens(column) if t not in _STOP]
    if len(content) != 1:
        return None
    return next(
        (r for r in _NAME_RULES if r.value_check is not None and content[0] in r.exact), None
    )


# ---- value patterns ------------------------------------------------------------------------

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    "noviembre|diciembre|ene|abr|ago|dic|"
    "janvier|fevrier|février|mars|avril|mai|juin|juillet|aout|août|septembre|octobre|"
    "novembre|decembre|décembre|janv|fevr|févr|avr|juil|dec|déc|"
    "januar|jänner|jaenner|februar|märz|maerz|april|juni|juli|oktober|dezember|okt|dez|mär|"
    "janeiro|fevereiro|março|marco|maio|junho|julho|setembro|outubro|novembro|dezembro|fev|"
    "out|set|"
    "gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|gen|mag|giu|lug|"
    "ott"
)
_D = r"(?:0?[1-9]|[12]\d|3[01])"
_M = r"(?:0?[1-9]|1[0-2])"
_Y4 = r"(?:19|20)\d\d"
_LEFT = r"(?<![\w/.:+-])"
_RIGHT = r"(?![\w/:+-]|[.-]\d)"
_TIME = r"(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
_MONTH_NAME = rf"(?:{_MONTHS})\.?"

_STRONG_DATE = re.compile(
    rf"{_LEFT}(?:"
    rf"{_Y4}([-/.]){_M}\1{_D}{_TIME}"  # 2021-03-04, 2021/3/4, 2021.03.04
    rf"|(\d{{1,2}})([-/.])(\d{{1,2}})\3({_Y4})"  # 04/03/2021 (either order), 4-3-2021
    rf"|{_D}(?:st|nd|rd|th|er|º|°)?\.?[\s-]*(?:de\s+)?{_MONTH_NAME}[\s,-]*(?:de\s+)?{_Y4}"
    rf"|{_MONTH_NAME}\s*{_D}(?:st|nd|rd|th)?,?\s+{_Y4}"
    rf"|{_D}-{_MONTH_NAME}-\d\d"  # 4-Mar-21
    rf"|\d\d(?:{_MONTHS}){_Y4}"  # 04MAR2021 (SAS date9)
    rf"|{_Y4}\s*年\s*{_M}\s*月\s*{_D}\s*日"
    rf"){_RIGHT}",
    re.I,
)
_WEAK_DATE = re.compile(
    rf"{_LEFT}(?:"
    rf"(\d{{1,2}})/(\d{{1,2}})/\d\d"  # 3/4/21
    rf"|(\d\d)\.(\d\d)\.\d\d"  # 04.03.21
    rf"|{_MONTH_NAME}[\s,-]*(?:de\s+)?{_Y4}"  # March 2021, marzo de 2021
    rf"|{_M}/{_Y4}"  # 03/2021
    rf"|{_Y4}-(?:0[1-9]|1[0-2])"  # 2021-03
    rf"|{_Y4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"  # 20210304
    rf"|{_Y4}\s*年\s*{_M}\s*月"
    rf"){_RIGHT}",
    re.I,
)


def _valid_day_month(a: str, b: str) -> bool:
    first, second = int(a), int(b)
    day_month = 1 <= first <= 31 and 1 <= second <= 12
    month_day = 1 <= first <= 12 and 1 <= second <= 31
    return day_month or month_day


def _date_match(match: re.Match[str]) -> bool:
    groups = match.groups()
    if match.re is _STRONG_DATE and groups[1] is not None:
        return _valid_day_month(groups[1], groups[3])
    if match.re is _WEAK_DATE:
        if groups[0] is not None:
            return _valid_day_month(groups[0], groups[1])
        if groups[2] is not None:
            return _valid_day_month(groups[2], groups[3])
    return True


_TLDS = (
    "com|org|net|edu|gov|mil|int|info|biz|io|co|me|app|online|site|health|care|clinic|"
    "hospital|med|uk|us|ca|au|nz|ie|de|fr|es|it|pt|br|mx|ar|cl|cn|hk|tw|jp|kr|sg|in|nl|be|"
    "ch|at|se|no|dk|fi|pl|cz|ru|za|eu"
)
_RESERVED_HOST = re.compile(
    r"(?:^|\.)(?:test|example|invalid|localhost|local)$|(?:^|\.)example\.(?:com|net|org)$",
    re.I,
)
_URL = re.compile(
    rf"(?i)\b(?:(?:https?|ftp|sftp)://([^\s/?#<>\"'()\[\]]+)([^\s<>\"')\]]*)"
    rf"|(?<![\w@.-])(www\d{{0,3}}\.[a-z0-9-]+(?:\.[a-z0-9-]+)*)"
    rf"|(?<![\w@.-])((?:[a-z0-9](?:[a-z0-9-]{{0,62}}[a-z0-9])?\.)+(?:{_TLDS}))"
    rf"(?::\d{{2,5}})?(/[^\s<>\"')\]]*)?(?![\w@-]|\.[a-z0-9]))"
)


def _url_match(match: re.Match[str]) -> bool:
    host = (match.group(1) or match.group(3) or match.group(4) or "").split(":")[0]
    host = host.split("@")[-1].rstrip(".").lower()
    if _RESERVED_HOST.search(host):
        return False
    if match.group(1) is not None:  # a scheme: a bare intranet host counts only with a path
        return "." in host or len(match.group(2) or "") > 1
    if match.group(4) is not None:
        labels = host.split(".")
        if any(label.isdigit() for label in labels) or len(labels[-2]) < 2:
            return False
        if len(labels[-1]) == 2 and not match.group(5):  # clinic.de, but not "notes.in"
            return len(labels) > 2 and labels[-2] in _SECOND_LEVEL
        return True
    return True


_SECOND_LEVEL = _words("co com org net gov gob gouv edu ac nhs med ne or go")


_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}(?![\w-])"
)
_IPV4 = re.compile(r"(?<![\w.])((?:\d{1,3}\.){3}\d{1,3})(?![\w]|\.\d)")
_IP_CONTEXT = re.compile(r"(?i)\b(?:ip|ipv4|host|server|client|remote|login|from)\b\W{0,5}$")
_IPV6 = re.compile(
    r"(?i)(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])"
    r"|(?<![\w:])(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:?){1,6}(?![\w:])"
)
_MAC = re.compile(r"(?i)(?<![\w:-])[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}(?![\w:-])")


def _ip_match(match: re.Match[str]) -> bool:
    parts = match.group(1).split(".")
    if any((len(p) > 1 and p.startswith("0")) or int(p) > 255 for p in parts):
        return False
    if _IP_CONTEXT.search(match.string[: match.start()]):
        return True
    # Without context: a dotted version string (1.2.3.4, 10.2.1.3) is not an address.
    return sum(int(p) >= 32 for p in parts) >= 2 and parts[0] != "0"


def _ipv6_match(match: re.Match[str]) -> bool:
    text = match.group(0)
    return bool(re.search(r"[a-f]", text, re.I)) or text.count(":") >= 5


_SSN = re.compile(
    r"(?<![\w-])(?<!\d[.,])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d\d\1(?!0000)\d{4}(?![\w-]|[.,]\d)"
)
_SSN_CONTEXT = re.compile(
    r"(?i)\b(?:ssn|soc(?:ial)?\.?\s*sec(?:urity)?(?:\s*(?:no|number|#))?)\s*[:#.]?\s*"
    r"\d{3}[- ]?\d\d[- ]?\d{4}\b"
)
_DNI = re.compile(r"(?<![\w-])(?<!\d[.,])([XYZ]?)(\d{7,8})-?([A-Z])(?![\w-]|[.,]\d)")
_CPF = re.compile(r"(?<![\w.-])(?<!\d,)(\d{3})\.(\d{3})\.(\d{3})-(\d\d)(?![\w.-])")
_CHINA_ID = re.compile(
    r"(?<![\w-])(?<!\d[.,])(\d{6})((?:19|20)\d{6})(\d{3})([\dXx])(?![\w-]|[.,]\d)"
)
_NIR = re.compile(
    r"(?<![\w-])(?<!\d[.,])([12])\s?(\d\d)\s?(0[1-9]|1[0-2]|[2-9]\d)\s?(\d[\dAB])\s?(\d{3})\s?(\d{3})"
    r"\s?(\d\d)(?![\w-]|[.,]\d)"
)
_CODICE_FISCALE = re.compile(
    r"(?<![\w-])(?<!\d[.,])[A-Z]{6}\d\d[A-EHLMPR-T]\d\d[A-Z]\d{3}[A-Z](?![\w-]|[.,]\d)"
)
_NINO = re.compile(
    r"(?<![\w-])(?<!\d[.,])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
    r" ?\d\d ?\d\d ?\d\d ?[A-D](?![\w-])"
)
_CARD = re.compile(r"(?<![\w-])(?<!\d[.,])\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}(?![\w-]|[.,]\d)")


def _dni_match(match: re.Match[str]) -> bool:
    prefix, digits, letter = match.groups()
    if prefix:
        digits = str("XYZ".index(prefix)) + digits
    elif len(digits) != 8:
        return False
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(digits) % 23] == letter


def _cpf_match(match: re.Match[str]) -> bool:
    digits = [int(c) for c in "".join(match.groups())]
    if len(set(digits)) == 1:
        return False
    for n in (9, 10):
        total = sum(d * w for d, w in zip(digits[:n], range(n + 1, 1, -1), strict=True))
        if (total * 10 % 11) % 10 != digits[n]:
            return False
    return True


def _china_id_match(match: re.Match[str]) -> bool:
    body = "".join(match.groups()[:3])
    try:
        pd.Timestamp(f"{body[6:10]}-{body[10:12]}-{body[12:14]}")
    except ValueError:
        return False
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return check == match.group(4).upper()


def _nir_match(match: re.Match[str]) -> bool:
    sex, year, month, department, commune, order, key = match.groups()
    department = department.replace("2A", "19").replace("2B", "18")
    number = int(sex + year + month + department + commune + order)
    return 97 - number % 97 == int(key)


def _card_match(match: re.Match[str]) -> bool:
    digits = [int(c) for c in re.sub(r"\D", "", match.group(0))]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0


_PHONE_INTERNATIONAL = re.compile(r"(?<![\w+])\+[1-9]\d{0,2}(?:[\s.-]?\(?\d{1,5}\)?){2,6}(?![\w])")
_PHONE_NANP = re.compile(
    r"(?<![\w(-])(?:\(([2-9]\d\d)\)\s?|([2-9]\d\d)([.-]| ))([2-9]\d\d)(?(3)\3|[\s.-]?)\d{4}"
    r"(?![\w-]|\.\d)"
)
_PHONE_NATIONAL_STRONG = re.compile(
    r"(?<![\w-])(?<!\d[.,])(?:"
    r"0[1-9](?:([ .-])\d\d)(?:\1\d\d){3}"  # France: 06 12 34 56 78
    r"|\(\d{2}\)\s?9?\d{4}-\d{4}"  # Brazil: (11) 91234-5678
    r"|1[3-9]\d([ -])\d{4}\2\d{4}"  # China mobile: 138 1234 5678
    r")(?![\w-]|\.\d)"
)
_PHONE_CONTEXT = re.compile(
    r"(?i)(?<![a-z])(?:tel|t[eé]l[eé]phone|telephone|phone|mobile?|m[oó]vil|"
    r"cell(?:ular|\s*phone|\s*no|\s*number|\s*#)|celular|handy|fax|portable|cellulare|"
    r"tel[eé]fono|telefone|telefon|dianhua|shouji|电话|手机|whatsapp|call|"
    r"contact(?:\s+(?:no|number))?)(?![a-z])"
    r"\.?\s*(?:no\.?|nr\.?|number|#)?\s*[:：]?\s*(\+?\(?\d[\d\s().\-/]{5,}\d)"
)
_PHONE_NATIONAL_WEAK = re.compile(
    r"(?<![\w.-])(?:"
    r"0\d{1,4} \d{3,4} ?\d{3,4}"  # UK: 020 7946 0958, 07700 900123; Italy: 06 1234 5678
    r"|0\d{2,5}[ /-]\d{5,8}"  # Germany, Italy: 030 1234567, 0171/1234567
    r"|3\d\d \d{6,7}"  # Italy mobile: 333 1234567
    r"|[6-9]\d\d \d{3} \d{3}"  # Spain: 612 345 678
    r"|[89]\d \d{3} \d\d \d\d"  # Spain landline: 91 234 56 78
    r"|\d{5}-\d{4}"  # Brazil without area code (also ZIP+4)
    r")(?![\w-]|\.\d)"
)
_PHONE_BARE = re.compile(
    r"^\s*(?:\+?1?[2-9]\d\d[2-9]\d{6}|0[1-9]\d{8}|1[3-9]\d{9}|\+?(?:33|34|39|44|49|55|86|351)"
    r"\d{8,11})\s*$"
)
_SSN_BARE = re.compile(r"^\s*(?!000|666|9)\d{3}(?!00)\d\d(?!0000)\d{4}\s*$")


def _context_digits(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(1))
    return 7 <= len(digits) <= 15


def _international(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 8 <= len(digits) <= 15


def _not_round(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return not digits.endswith("0000") and len(set(digits)) > 2


_CAPITAL = r"[A-ZÀ-ÖØ-Þ0-9][\w'’.-]*"
_TITLE_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-ÿ'’-]{2,}"
_CONNECT = r"(?:de|del|la|las|los|el|da|do|dos|das|di|della|du|des|le|l'|von|der|van)"
_NAME_WORDS = rf"(?:(?:{_TITLE_WORD}|{_CONNECT})\s+){{0,4}}{_TITLE_WORD}"
_STREET = re.compile(
    r"(?<![\w-])(?<!\d[.,])(?:"
    rf"\d{{1,5}}[A-Za-z]?,?\s+(?:{_CAPITAL}\s+){{1,4}}"
    r"(?i:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|pl|"
    r"terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|crescent|close|"
    r"grove|gardens|row|mews)\b\.?"
    rf"|(?i:calle|c/|avenida|avda|paseo|plaza|pza|camino|carrera|carretera|ronda|travesía|"
    rf"travesia|rua|travessa|praça|praca|alameda|estrada)\.?\s+{_NAME_WORDS},?\s*"
    r"(?:n[º°o]\.?\s*)?\d{1,5}\b"
    r"|\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|Rue|avenue|av\.|boulevard|bd|place|chemin|"
    r"allée|allee|impasse|quai|route|cours)\s+(?:de\s+la\s+|de\s+l'|du\s+|des\s+|de\s+)?"
    r"[A-ZÀ-Þ][\w'-]{2,}"
    r"|[A-ZÄÖÜ][\wäöüß-]*(?:straße|strasse|str\.|weg|allee|platz|gasse)\s+\d{1,4}[a-z]?\b"
    rf"|(?:Via|Viale|Piazza|Corso|Vicolo|Largo)\s+{_NAME_WORDS},?\s*\d{{1,4}}\b"
    r"|[A-Z][a-z]+\s?(?:Lu|Jie|Dao|Dajie|Hutong|Xiang)\s*\d{1,5}\s*(?:Hao|hao|号)"
    r"|[\u4e00-\u9fff]{2,}(?:路|街|道|巷|胡同)\d{1,5}号"
    r"|(?i:p\.?\s?o\.?\s?box|apartado(?:\s+de\s+correos)?|bo[iî]te\s+postale|postfach|"
    r"caixa\s+postal|casella\s+postale)\s*\d+"
    r")"
)
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|"
    "NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
_STATE_ZIP = re.compile(rf"(?<![\w-])(?:{_STATES}),?\s+\d{{5}}(?:-\d{{4}})?(?![\w-]|[.,]\d)")
_POSTCODE = re.compile(
    r"(?<![\w-])(?<!\d[.,])(?:\d{5}-\d{4}"  # ZIP+4
    r"|[A-Z]{1,2}\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2}"  # UK
    r"|[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d"  # Canada
    r"|\d{5}-\d{3}"  # Brazil CEP
    r")(?![\w-]|[.,]\d)"
)
_TITLED_NAME = re.compile(
    r"(?<![\w.])(?:Mr|Mrs|Ms|Mx|Miss|Sr|Sra|Srta|Mme|Mlle|Herr|Frau|Sig|Sig\.ra|Signor|"
    r"Signora|Dona|Doña|Senhor|Senhora)\.?\s+(?:[A-ZÀ-Þ]\.\s*)?[A-ZÀ-Þ][a-zà-ÿ'’-]{1,}"
    r"|[\u4e00-\u9fff](?:先生|女士|小姐)"
)
_LABELLED_NAME = re.compile(
    r"(?i:(?:^\s*|[;\n]\s*)(?:name|nombre|nom|nome)|\b(?:patient(?:'s)?\s+name|full\s+name|"
    r"first\s+name|last\s+name|given\s+name|family\s+name|surname|apellidos?|"
    r"nombre\s+del\s+paciente|nom\s+du\s+patient|vorname|nachname|cognome|prénom|prenom|"
    r"xingming))\s*[:=：]\s*[A-ZÀ-Þ](?:[\w'’-]+|\.\s*[A-ZÀ-Þ][\w'’-]+)"
    r"|姓名\s*[:：]\s*\S"
)
_LABELLED_NUMBER = re.compile(
    r"(?i)\b(?:mrn|medical\s+record(?:\s+(?:no|number))?|med\.?\s*rec\.?|chart\s*(?:no|number|#)|"
    r"hosp(?:ital)?\.?\s*(?:no|number|#)|nhs\s*(?:no|number)?|nhc|historia\s+cl[ií]nica|"
    r"member\s*(?:id|no|number|#)|subscriber\s*(?:id|no|number)|policy\s*(?:no|number|#)|"
    r"insurance\s*(?:id|no|number|#)|medicare\s*(?:no|number|#)?|medicaid\s*(?:id|no|number)?|"
    r"account\s*(?:no|number|#)|acct\.?\s*(?:no|number|#)?|iban|(?:driver'?s?\s+)?licen[cs]e\s*(?:no|number|#)?|"
    r"passport\s*(?:no|number|#)?|serial\s*(?:no|number|#))\s*[:#.]?\s*[A-Z]{0,4}[\s-]?\d{5,}"
    r"|\bvin\s*[:#]?\s*[A-HJ-NPR-Z0-9]{17}\b"
)
_RECORD_ID = re.compile(
    r"^\s*(?:(?i:mrn|mr|hn|nhs|nhc|ipp|chart|hosp|urn)[\s:#-]*\d{5,}|\d{9,}|\d{3}-\d\d-\d{4})\s*$"
)


def _name_shaped(text: str) -> bool:
    """'Jane Roe', 'ROE, Jane', 'Jane M. Roe', '张伟': a first and last name, nothing else."""
    text = text.strip()
    if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", text):
        return True
    if "," in text:
        last, _, first = text.partition(",")
        words = last.split() + first.split()
    else:
        words = text.split()
    full = [w for w in words if len(w.strip(".")) > 1]
    if not 2 <= len(full) <= 4 or len(words) > 5:
        return False
    for word in words:
        bare = word.strip(".")
        if len(bare) == 1:
            if not bare.isupper():
                return False
            continue
        if not re.fullmatch(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", bare):
            return False
        if not (bare[0].isupper() and (bare[1:].islower() or bare.isupper())):
            return False
        if bare.casefold() in _NOT_NAMES:
            return False
    return True


_NOT_NAMES = _words(
    "hospital hospitals clinic clinics clinique klinik clinica clinico university "
    "universidad universite universitat universita college general centre center centro "
    "medical medicine health institute instituto institut foundation fundacion site group "
    "arm cohort study trial control placebo standard care cord bone marrow adipose "
    "umbilical autologous allogeneic tissue cells cell stem mesenchymal derived blood "
    "baseline month months week weeks visit day days year years screening follow up "
    "male female unknown other none yes no not done lost left right high low mild moderate "
    "severe good poor normal abnormal type diabetes diabetic neuropathy pain score total "
    "intramuscular intravenous intra arterial intrathecal local topical oral dose "
    "north south east west central new old saint san santa st sao street road avenue"
)


@dataclass(frozen=True)
class _ValueRule:
    label: str
    prefilter: str  # RE2, a superset of what ``pattern`` finds
    pattern: re.Pattern[str]
    check: Callable[[re.Match[str]], bool] | None = None
    strong: bool = True  # flagged on any match; otherwise by share of distinct values
    share: float = 0.3
    dates: bool = False
    id_only: bool = False
    per_patient: bool = False  # counted only when the values are about one per patient
    code_like: bool = True  # could be a lot number or version string (skipped under such names)


_RE2_MONTHS = _MONTHS.replace("é", "[eé]").replace("û", "u")
_VALUE_RULES: list[_ValueRule] = [
    _ValueRule(
        "e-mail addresses", r"@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]", _EMAIL, code_like=False
    ),
    _ValueRule(
        "URLs",
        rf"(?i)://|www\d{{0,3}}\.|[a-z0-9-]\.(?:{_TLDS})(?:[^a-z0-9.-]|$|\.[^a-z0-9])",
        _URL,
        _url_match,
        code_like=False,
    ),
    _ValueRule("IP addresses", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", _IPV4, _ip_match),
    _ValueRule("IP addresses", r"(?i)[0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f:]*", _IPV6, _ipv6_match),
    _ValueRule("MAC addresses", r"(?i)[0-9a-f]{2}[:-][0-9a-f]{2}[:-][0-9a-f]{2}", _MAC),
    _ValueRule("social security numbers", r"\d{3}[- ]\d\d[- ]\d{4}", _SSN),
    _ValueRule("social security numbers", r"(?i)ssn|soc(?:ial)?\.?\s*sec", _SSN_CONTEXT),
    _ValueRule("national ID numbers (DNI/NIE)", r"\d{7,8}-?[A-Z]", _DNI, _dni_match),
    _ValueRule("national ID numbers (CPF)", r"\d{3}\.\d{3}\.\d{3}-\d\d", _CPF, _cpf_match),
    _ValueRule("national ID numbers", r"\d{17}[\dXx]", _CHINA_ID, _china_id_match),
    _ValueRule(
        "national ID numbers (NIR)",
        r"[12]\s?\d\d\s?\d\d\s?\d[\dAB]\s?\d{3}\s?\d{3}\s?\d\d",
        _NIR,
        _nir_match,
    ),
    _ValueRule(
        "national ID numbers (codice fiscale)",
        r"[A-Z]{6}\d\d[A-Z]\d\d[A-Z]\d{3}[A-Z]",
        _CODICE_FISCALE,
    ),
    _ValueRule("card numbers", r"\d{4}[ -]\d{4}[ -]\d{4}", _CARD, _card_match),
    _ValueRule("phone numbers", r"\+[1-9]", _PHONE_INTERNATIONAL, _international),
    _ValueRule(
        "phone numbers", r"\(?[2-9]\d\d\)?[ .-]?[2-9]\d\d[ .-]?\d{4}", _PHONE_NANP, _not_round
    ),
    _ValueRule(
        "phone numbers",
        r"0[1-9][ .-]\d\d[ .-]\d\d|\(\d\d\)\s?9?\d{4}-\d{4}|1[3-9]\d[ -]\d{4}[ -]\d{4}",
        _PHONE_NATIONAL_STRONG,
    ),
    _ValueRule(
        "phone numbers",
        r"(?i)(?:tel|t[eé]l|phone|mob|m[oó]vil|cel|handy|fax|portable|dianhua|shouji|电话|"
        r"手机|whatsapp|call|contact)[^\d]{0,20}\d[\d\s().\-/]{5,}\d",
        _PHONE_CONTEXT,
        _context_digits,
    ),
    _ValueRule(
        "street addresses",
        r"(?i)\d[a-z]?,?\s+\S.*\b(?:street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd|court|"
        r"ct|way|place|pl|terrace|ter|circle|cir|highway|hwy|parkway|pkwy|square|sq|trail|"
        r"crescent|close|grove|gardens|row|mews)\b|(?i)(?:calle|c/|avenida|avda|paseo|plaza|"
        r"pza|camino|carrera|carretera|ronda|traves|rua|travessa|pra[çc]a|alameda|estrada|via|"
        r"viale|piazza|corso|vicolo|largo)\.?\s+\S.*\d|\d.*(?i:rue|avenue|av\.|boulevard|bd|"
        r"place|chemin|all[ée]e|impasse|quai|route|cours)\s|(?:stra(?:ss|ß)e|str\.|weg|allee|"
        r"platz|gasse)\s+\d|(?:Lu|Jie|Dao|Dajie|Hutong|Xiang)\s*\d+\s*(?:Hao|hao|号)|"
        r"(?:路|街|道|巷|胡同)\d+号|(?i)(?:p\.?\s?o\.?\s?box|apartado|bo[iî]te\s+postale|"
        r"postfach|caixa\s+postal|casella\s+postale)\s*\d",
        _STREET,
    ),
    _ValueRule("ZIP codes after a state", rf"(?:{_STATES}),?\s+\d{{5}}", _STATE_ZIP),
    _ValueRule(
        "calendar dates",
        rf"(?i)(?:19|20)\d\d[-/.]\d{{1,2}}[-/.]\d{{1,2}}|\d{{1,2}}[-/.]\d{{1,2}}[-/.](?:19|20)\d\d"
        rf"|\d(?:st|nd|rd|th|er|º|°)?\.?[\s-]*(?:de\s+)?(?:{_RE2_MONTHS})\.?[\s,-]*(?:de\s+)?"
        rf"(?:19|20)\d\d|(?:{_RE2_MONTHS})\.?\s*\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d\d"
        rf"|\d-(?:{_RE2_MONTHS})\.?-\d\d|\d\d(?:{_RE2_MONTHS})(?:19|20)\d\d|年\s*\d{{1,2}}\s*月",
        _STRONG_DATE,
        _date_match,
        dates=True,
    ),
    _ValueRule(
        "names after a title",
        r"(?:Mr|Mrs|Ms|Mx|Miss|Sr|Sra|Srta|Mme|Mlle|Herr|Frau|Sig|Signor|Signora|Dona|Doña|"
        r"Senhor|Senhora)\.?\s+[A-ZÀ-Þ]|先生|女士|小姐",
        _TITLED_NAME,
        code_like=False,
    ),
    _ValueRule(
        "names after a label",
        r"(?i)(?:name|nombre|nom|nome|vorname|nachname|surname|apellido|cognome|pr[ée]nom|"
        r"xingming)\s*[:=：]|姓名",
        _LABELLED_NAME,
        code_like=False,
    ),
    _ValueRule(
        "record, member or account numbers after their label",
        r"(?i)(?:mrn|record|rec|chart|hosp|nhs|nhc|historia|member|subscriber|policy|insurance|"
        r"medicare|medicaid|account|acct|iban|licen[cs]e|passport|serial)[^\d]{0,25}\d{5}"
        r"|(?i)vin\s*[:#]?\s*[A-Z0-9]{17}",
        _LABELLED_NUMBER,
    ),
    # By share of the distinct values:
    _ValueRule(
        "calendar dates",
        rf"(?i)\d{{1,2}}/\d{{1,2}}/\d\d|\d\d\.\d\d\.\d\d|(?:{_RE2_MONTHS})\.?[\s,-]*(?:de\s+)?"
        rf"(?:19|20)\d\d|\d/(?:19|20)\d\d|(?:19|20)\d\d-[01]\d|(?:19|20)\d{{6}}|年\s*\d{{1,2}}\s*月",
        _WEAK_DATE,
        _date_match,
        strong=False,
        dates=True,
    ),
    _ValueRule(
        "ZIP or postal codes",
        r"\d{5}-\d{3,4}|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d",
        _POSTCODE,
        strong=False,
    ),
    _ValueRule(
        "phone numbers",
        r"0\d{1,5}[ /-]\d{3,8}|3\d\d \d{6,7}|[6-9]\d\d \d{3} \d{3}|[89]\d \d{3} \d\d \d\d"
        r"|\d{5}-\d{4}",
        _PHONE_NATIONAL_WEAK,
        strong=False,
    ),
    _ValueRule(
        "phone numbers", r"^\s*\+?\d{10,13}\s*$", _PHONE_BARE, _not_round, strong=False, share=0.5
    ),
    _ValueRule(
        "social security numbers",
        r"^\s*\d{9}\s*$",
        _SSN_BARE,
        _not_round,
        strong=False,
        share=0.5,
    ),
    _ValueRule(
        "UK National Insurance numbers",
        r"[A-Z]{2} ?\d\d ?\d\d ?\d\d ?[A-D]",
        _NINO,
        strong=False,
    ),
    _ValueRule(
        "record numbers",
        r"(?i)^\s*(?:(?:mrn|mr|hn|nhs|nhc|ipp|chart|hosp|urn)[\s:#-]*\d{5,}|\d{9,}|"
        r"\d{3}-\d\d-\d{4})\s*$",
        _RECORD_ID,
        strong=False,
        share=0.5,
        id_only=True,
    ),
    _ValueRule(
        "people's names",
        r"^\s*\p{Lu}[\p{L}'’.-]*,?(?:\s+\p{Lu}[\p{L}'’.-]*,?){1,4}\s*$|^\s*\p{Han}{2,4}\s*$",
        re.compile(r".+", re.S),
        lambda m: _name_shaped(m.group(0)),
        strong=False,
        share=0.5,
        per_patient=True,
        code_like=False,
    ),
]
_DATE_RULES = [r for r in _VALUE_RULES if r.dates]
# Codes no rule can take for an identifier: up to 4 letters (not a record-number prefix) then
# up to 7 digits, or a word, a dash and up to 6 digits. Patient IDs are mostly these.
_PLAIN_CODE = r"^(?:(?i:[a-z]{0,4})\d{0,7}|[A-Za-z]{1,6}[-_]\d{1,6})$"
_RECORD_PREFIX = r"(?i)^(?:mrn|mr|hn|nhs|nhc|ipp|urn|hosp)"
_CONFIRM_SAMPLE = 20_000  # share rules: candidates confirmed one by one, beyond this a sample

_DECIMAL = r"^[+-]?(?:\d+[.,]\d+|[.,]\d+)(?:e[+-]?\d+)?$"
MISSING_TEXT = frozenset({"", "nan", "none", "na", "n/a", "null", "nat", "<na>", "-", "--", "."})
_YES_NO = frozenset(
    [
        "yes",
        "no",
        "y",
        "n",
        "true",
        "false",
        "t",
        "f",
        "0",
        "1",
        "0.0",
        "1.0",
        "si",
        "sí",
        "non",
        "oui",
        "ja",
        "nein",
        "sim",
        "não",
        "nao",
        "shi",
        "fou",
        "是",
        "否",
        "x",
        "checked",
        "unchecked",
        "positive",
        "negative",
        "pos",
        "neg",
        "present",
        "absent",
        "unknown",
        "ok",
        "done",
        "not",
        "done",
        "missing",
        "none",
        "n/a",
        "na",
        "nd",
        "ne",
        "unk",
    ]
) | {"not done"}


# ---- scanning ------------------------------------------------------------------------------


@dataclass
class _Column:
    """One column's distinct values, read once."""

    series: pd.Series
    numeric: bool = False
    text: pa.Array | None = None  # distinct non-empty values as text (for text columns)
    numbers: np.ndarray | None = None  # finite values (numeric columns)
    _python: list[str] | None = field(default=None, repr=False)

    @property
    def distinct(self) -> int:
        if self.numeric:
            assert self.numbers is not None
            return len(np.unique(self.numbers))
        return 0 if self.text is None else len(self.text)

    def values(self) -> list[str]:
        if self._python is None:
            if self.numeric:
                assert self.numbers is not None
                self._python = [_number_text(v) for v in np.unique(self.numbers)]
            else:
                self._python = [] if self.text is None else self.text.to_pylist()
        return self._python


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _read_column(series: pd.Series) -> _Column | None:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return None
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        finite = np.isfinite(values)
        return _Column(series, numeric=True, numbers=values if finite.all() else values[finite])
    if isinstance(dtype, pd.CategoricalDtype):
        distinct = series.cat.categories
    else:
        distinct = pd.unique(series.dropna())
    try:
        array = pa.array(distinct, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array([str(v) for v in distinct], type=pa.string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    trimmed = pc.utf8_lower(pc.utf8_trim_whitespace(array))
    keep = pc.invert(pc.is_in(trimmed, value_set=pa.array(sorted(MISSING_TEXT))))
    keep = pc.and_(keep, pc.is_valid(array))
    # Numbers with a decimal part identify nobody (and their digits could look like an ID).
    keep = pc.and_(keep, pc.invert(pc.match_substring_regex(trimmed, _DECIMAL)))
    text = pc.filter(array, pc.fill_null(keep, False))
    if not isinstance(dtype, pd.CategoricalDtype):  # categories are distinct already
        text = text.unique()
    return _Column(series, text=text)


def _first_row(series: pd.Series, value: str, rows: np.ndarray | None) -> int:
    """The spreadsheet row of the first cell holding ``value`` (header = row 1)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        code = series.cat.categories.get_indexer([value])[0]
        codes = series.cat.codes.to_numpy()
        hits = np.flatnonzero(codes == code) if code >= 0 else np.array([], dtype=np.intp)
    elif pd.api.types.is_numeric_dtype(series.dtype):
        numbers = series.to_numpy(dtype=float, na_value=np.nan)
        hits = np.flatnonzero(numbers == float(value))
    else:
        hits = np.flatnonzero(series.astype(str).to_numpy() == value)
    position = int(hits[0]) if len(hits) else 0
    return int(rows[position]) if rows is not None and position < len(rows) else position + 2


def _confirm(rule: _ValueRule, text: str) -> bool:
    check = rule.check
    return any(check is None or check(m) for m in rule.pattern.finditer(text))


def _candidates(column: _Column) -> list[str]:
    """The distinct values any rule's prefilter finds, in Arrow's regex engine: plain codes
    (P007, MSC-001, 1234567: letters then up to 7 digits) are set aside first, in one pass;
    then each rule's prefilter runs on what is left (one combined pattern is slower)."""
    if column.text is None or not len(column.text):
        return []
    plain = pc.match_substring_regex(column.text, _PLAIN_CODE)
    if pc.any(plain).as_py():
        plain = pc.and_(plain, pc.invert(pc.match_substring_regex(column.text, _RECORD_PREFIX)))
    rest = pc.filter(column.text, pc.invert(plain))
    found = None
    for rule in _VALUE_RULES:
        if not len(rest):
            break
        hit = pc.match_substring_regex(rest, rule.prefilter)
        found = hit if found is None else pc.or_(found, hit)
    if found is None:
        return []
    return pc.filter(rest, found).to_pylist()


def _value_flag(
    name: str,
    column: _Column,
    is_id: bool,
    n_patients: int,
    rows: np.ndarray | None,
    safe_context: bool,
) -> Flag | None:
    """The first value rule the column's values meet, as a flag with an example row."""
    if column.numeric:
        return _number_flag(name, column, rows)
    candidates = _candidates(column)
    if not candidates:
        return None
    distinct = column.distinct
    for rule in _VALUE_RULES:
        if rule.id_only and not is_id:
            continue
        if safe_context and rule.code_like:
            continue  # lot numbers and version strings: dates, phones, codes identify nobody
        if rule.per_patient and not is_id and distinct < max(2, 0.5 * n_patients):
            continue
        mine = [v for v in candidates if _re2_search(rule.prefilter, v)]
        if not mine:
            continue
        if rule.strong:
            example = next((v for v in mine if _confirm(rule, v)), None)
            if example is None:
                continue
            whole = _whole_cell_dates(column) if rule.dates else 0.0
            row = _first_row(column.series, example, rows)
            if rule.dates and whole >= 0.5:
                return Flag(
                    name, f"{whole:.0%} of its values are {rule.label} (e.g. row {row})", True
                )
            return Flag(name, f"its values include {rule.label} (e.g. row {row})")
        sample = mine if len(mine) <= _CONFIRM_SAMPLE else _sample(mine)
        confirmed = [v for v in sample if _confirm(rule, v)]
        share = len(confirmed) / len(sample) * len(mine) / max(distinct, 1)
        if confirmed and share >= rule.share:
            row = _first_row(column.series, confirmed[0], rows)
            is_date = rule.dates and _whole_cell_dates(column) >= 0.5
            return Flag(
                name, f"{share:.0%} of its distinct values look like {rule.label} (e.g. row {row})",
                is_date,
            )  # fmt: skip
    return None


def _sample(values: list[str]) -> list[str]:
    rng = np.random.default_rng(0)
    return [values[i] for i in rng.choice(len(values), _CONFIRM_SAMPLE, replace=False)]


_RE2_CACHE: dict[str, re.Pattern[str]] = {}


def _re2_search(pattern: str, text: str) -> bool:
    """The prefilter on one value, in Python (\\p{Lu}/\\p{Han} rewritten for ``re``)."""
    compiled = _RE2_CACHE.get(pattern)
    if compiled is None:
        python = (
            pattern.replace(r"\p{Lu}", "[A-ZÀ-ÖØ-ÞĀ-ſ]")
            .replace(r"\p{L}", "a-zA-ZÀ-ÿĀ-ſ")
            .replace(r"\p{Han}", "[\u4e00-\u9fff]")
        )
        python = _move_inline_flags(python)
        compiled = _RE2_CACHE[pattern] = re.compile(python)
    return compiled.search(text) is not None


def _move_inline_flags(pattern: str) -> str:
    """RE2 takes (?i) anywhere; Python only at the start: scope it to its alternative."""
    if "(?i)" not in pattern[4:] and not pattern.startswith("(?i)"):
        return pattern
    wrapped, active = [], False
    for part in _split_top_level(pattern):
        active = active or "(?i)" in part  # as in RE2: from there to the end of the group
        part = part.replace("(?i)", "")
        wrapped.append(f"(?i:{part})" if active else f"(?:{part})")
    return "|".join(wrapped)


def _split_top_level(pattern: str) -> list[str]:
    parts, depth, start, i = [], 0, 0, 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _whole_cell_dates(column: _Column) -> float:
    """Share of the distinct values that are a date and nothing else (convertible to days)."""
    values = column.values()
    if not values:
        return 0.0
    sample = values if len(values) <= _CONFIRM_SAMPLE else _sample(values)
    whole = 0
    for value in sample:
        text = value.strip()
        for pattern in (_STRONG_DATE, _WEAK_DATE):
            match = pattern.fullmatch(text)
            if match and _date_match(match):
                whole += 1
                break
    return whole / len(sample)


def _number_flag(name: str, column: _Column, rows: np.ndarray | None) -> Flag | None:
    """Integers shaped like social security or phone numbers; serial dates under an event name."""
    numbers = column.numbers
    if numbers is None or not len(numbers):
        return None
    high = float(numbers.max())
    tokens = set(_tokens(name))
    checks: list[tuple[str, np.ndarray]] = []
    if high >= 1e8:
        whole = numbers[(numbers == np.floor(numbers)) & (numbers >= 1e8)]
        not_round = whole % 1000 != 0
        ssn = (whole < 9e8) & not_round & (np.floor(whole / 1e6) != 666)
        ssn &= np.floor(whole / 1e4) % 100 != 0
        checks.append(("social security numbers", whole[ssn]))
        exchange = np.floor(whole / 1e4) % 1000
        nanp = (whole >= 2e9) & (whole < 1e10) & (exchange >= 200)
        longer = (whole >= 1e10) & (whole < 1e13)
        checks.append(("phone numbers", whole[(nanp | longer) & not_round]))
    if tokens & _DATE_HINTS and 20_000 <= high < 60_000:
        serial = numbers[(numbers >= 21_916) & (numbers <= 55_153)]  # 1960-2050 in Excel
        if len(serial) >= 0.8 * len(numbers):
            row = _first_row(column.series, _number_text(serial[0]), rows)
            return Flag(
                name, f"its values look like spreadsheet serial dates (e.g. row {row})", True
            )
    for label, found in checks:
        if not len(found):
            continue
        share = len(np.unique(found)) / max(column.distinct, 1)
        if share >= 0.5:
            row = _first_row(column.series, _number_text(found[0]), rows)
            return Flag(
                name, f"{share:.0%} of its distinct values look like {label} (e.g. row {row})"
            )
    return None


def _plainly_not_identifiers(column: _Column, hit: _NameHit, n_patients: int) -> bool:
    """Yes/no answers, a few shared categories, or (under a date name) small numbers."""
    if column.numeric:
        numbers = column.numbers
        if numbers is None or not len(numbers):
            return True
        distinct = np.unique(numbers)
        if set(distinct.tolist()) <= {0.0, 1.0}:
            return True
        if hit.rule.is_date and np.abs(distinct).max() < 10_000:
            return True  # days, counts or years: not a day of the calendar
        if len(distinct) > 12:
            return False
        values = [_number_text(v) for v in distinct]
    else:
        if column.text is None or not len(column.text):
            return True  # an empty column holds nothing
        if len(column.text) > 50:
            return False
        values = column.values()
    folded = {v.strip().casefold() for v in values}
    if folded <= _YES_NO:
        return True
    if hit.rule.strict and hit.bare:
        return False
    if len(values) > 12 or len(values) > max(1, n_patients) / 2:
        return False
    if any(len(v) > 40 or re.search(r"\d{4}", v) or "@" in v for v in values):
        return False
    if hit.rule.is_date and any(_confirm(r, v) for r in _DATE_RULES for v in values):
        return False
    return all(not _confirm(rule, v) for rule in _VALUE_RULES[:-1] for v in values)


def scan(
    frame: pd.DataFrame,
    id_column: str | None = None,
    sample: int | None = None,
    rows: np.ndarray | None = None,
) -> list[Flag]:
    """Columns that look like direct identifiers, with the reason for each.

    Every row of every column is looked at (``sample``: only the first rows, for tests).
    ``rows``: the spreadsheet row of each frame row, for the example row in each reason
    (RawTable.row_numbers()); without it, frame row i is row i + 2 (or the frame's
    ``_source_row`` column, where an adapter set one)."""
    if sample is not None:
        frame = frame.head(sample)
    if rows is None and "_source_row" in frame.columns:
        rows = frame["_source_row"].to_numpy()
    n_patients = len(frame)
    if id_column is not None and id_column in frame.columns:
        ids = frame[id_column]
        n_patients = (
            len(ids.cat.categories)
            if isinstance(ids.dtype, pd.CategoricalDtype)
            else int(ids.nunique())
        )
    flags: list[Flag] = []
    for name in frame.columns:
        if str(name).startswith("_source_"):
            continue
        series = frame[name]
        if isinstance(series, pd.DataFrame):  # a repeated name: each copy on its own
            series = series.iloc[:, 0]
        column = _read_column(series)
        is_id = name == id_column
        hit = None if is_id else _name_hit(str(name))
        if hit is None and not is_id:
            rule = _exact_name_rule(str(name))
            check = None if rule is None or column is None else rule.value_check
            values = [] if check is None or column is None else column.values()
            if rule is not None and check is not None and check([v.strip() for v in values]):
                flags.append(Flag(name, f"its name suggests {rule.reason}"))
                continue
        if column is None:
            if hit is not None:
                flags.append(Flag(name, f"its name suggests {hit.rule.reason}", hit.rule.is_date))
            continue
        if hit is not None and not _plainly_not_identifiers(column, hit, n_patients):
            flags.append(Flag(name, f"its name suggests {hit.rule.reason}", hit.rule.is_date))
            continue
        safe = bool(set(_tokens(str(name))) & _SAFE_CONTEXT)
        flag = _value_flag(name, column, is_id, n_patients, rows, safe)
        if flag is not None:
            flags.append(flag)
    return flags


_RECORD_NUMBER = r"^(\d{7,}|\d{3}-\d{2}-\d{4}|\d{3} ?\d{3} ?\d{4})$"


def record_number_ids(ids: pd.Series) -> int:
    """How many distinct patient IDs look like real record numbers (7+ digits, SSN or phone
    shapes). Checked once per distinct ID: a long file repeats each ID on many rows."""
    if isinstance(ids.dtype, pd.CategoricalDtype):
        distinct = ids.cat.categories
    else:
        distinct = pd.unique(ids.dropna())
    try:
        array = pa.array(distinct, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array([str(v) for v in distinct], type=pa.string())
    trimmed = pc.utf8_trim_whitespace(array)
    found = pc.filter(
        trimmed, pc.fill_null(pc.match_substring_regex(trimmed, _RECORD_NUMBER), False)
    )
    return len(pc.unique(found))


# ---- dates to days -------------------------------------------------------------------------


def _to_datetime(values: pd.Series) -> pd.Series:
    """Calendar dates from text (ISO first, then other layouts) or spreadsheet serial numbers."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        serial = numbers.between(21_916, 55_153)
        return pd.to_datetime(numbers.where(serial), unit="D", origin="1899-12-30")
    text = values.astype(str).str.strip()
    digits = text.str.fullmatch(r"\d{5}(?:\.\d+)?")
    parsed = pd.to_datetime(text.where(~digits), errors="coerce", format="ISO8601")
    missing = parsed.isna() & text.ne("") & ~digits
    if missing.any():
        parsed = parsed.where(
            ~missing, pd.to_datetime(text.where(missing), errors="coerce", format="mixed")
        )
    if digits.any():
        serial = pd.to_numeric(text.where(digits), errors="coerce")
        serial = serial.where(serial.between(21_916, 55_153))
        parsed = parsed.where(~digits, pd.to_datetime(serial, unit="D", origin="1899-12-30"))
    return parsed


def dates_to_days(
    frame: pd.DataFrame, id_column: str, date_columns: list[str], treatment_column: str
) -> tuple[pd.DataFrame, list[str]]:
    """Replace calendar dates by days since each patient's treatment date; drop the dates.

    Returns the new frame and notes. The first date column that is not the treatment date
    becomes ``day`` (days since treatment); other date columns become ``<name>_day``."""
    notes = []
    treatment = _to_datetime(frame[treatment_column])
    per_patient = treatment.groupby(frame[id_column], observed=True).transform("first")
    result = frame.drop(columns=date_columns)
    others = [c for c in date_columns if c != treatment_column]
    for i, column in enumerate(others):
        dates = _to_datetime(frame[column])
        days = (dates - per_patient).dt.days
        name = "day" if i == 0 and "day" not in result.columns else f"{column}_day"
        result[name] = days.astype("Float64").astype(object).where(days.notna(), "")
        unreadable = int((dates.isna() & frame[column].astype(str).str.strip().ne("")).sum())
        notes.append(
            f"{column!r} became {name!r} (days since {treatment_column!r})"
            + (f"; {unreadable} value(s) could not be read as dates" if unreadable else "")
        )
    notes.append(f"The calendar dates themselves were removed: {', '.join(date_columns)}.")
    return result, notes


_TREATMENT = re.compile(
    r"treat|inject|infus|transplant|procedure|implant|dosing|tratam|traitement|trattam|"
    r"behandl|infusion|injeccion|injection|iniezion|injecao|cirug|chirurg|surgery|zhiliao"
)


def treatment_date_column(date_columns: list[str]) -> str | None:
    """The date column that records treatment (injection, infusion, procedure), if any."""
    for column in date_columns:
        if _TREATMENT.search("_".join(_tokens(column))):
            return column
    return None


# ---- benchmark -----------------------------------------------------------------------------


def bench_phi_scan(n_rows: int = 1_000_000, repeat: int = 3) -> float:
    """Seconds to scan a long-layout table of ``n_rows`` rows (best of ``repeat``): patient
    IDs (one per 40 rows), visit, outcome, value, two numeric and two text attributes and a
    free-text note, as CSV and Parquet loading give them (text as categoricals)."""
    rng = np.random.default_rng(1)
    patients = max(1, n_rows // 40)
    codes = rng.integers(0, patients, n_rows)
    ids = pd.Index([f"P{i:07d}" for i in range(patients)])
    notes = [f"seen at visit {i}, stable" for i in range(200)] + ["", "no change"]
    frame = pd.DataFrame(
        {
            "patient_id": pd.Categorical.from_codes(codes, categories=ids),
            "visit": pd.Categorical.from_codes(rng.integers(0, 5, n_rows), _labels(5, "m")),
            "outcome": pd.Categorical.from_codes(rng.integers(0, 8, n_rows), _labels(8, "o")),
            "value": np.round(rng.normal(5, 2, n_rows), 1),
            "hba1c": np.round(rng.normal(7.8, 1.2, patients), 1)[codes],
            "dose_cells": rng.choice([1e6, 5e7, 1e8], patients)[codes],
            "cell_source": pd.Categorical.from_codes(
                rng.integers(0, 3, patients)[codes], ["umbilical cord", "bone marrow", "adipose"]
            ),
            "insurance_type": pd.Categorical.from_codes(
                rng.integers(0, 3, patients)[codes], ["private", "public", "none"]
            ),
            "note": pd.Categorical.from_codes(rng.integers(0, len(notes), n_rows), notes),
        }
    )
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        flags = scan(frame, "patient_id")
        best = min(best, time.perf_counter() - start)
    assert not flags, flags
    return best


def _labels(n: int, prefix: str) -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def _iter_reasons(flags: Iterable[Flag]) -> list[str]:  # pragma: no cover - debugging aid
    return [f"{f.column}: {f.reason}" for f in flags]
