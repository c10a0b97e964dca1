"""Applicants: plausible Vietnamese people and organisations of the Central Highlands.

All of it is invented; it exists so the ingest has personal data to protect (hash, never store
in clear) and text with diacritics to normalise.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

from cchc_simulator.randomness import Stream

_FAMILY = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trương",
    "Lương",
    "Mai",
)
_MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thanh", "Công", "Xuân", "Đình", "Ngọc")
_MIDDLE_FEMALE = ("Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Hồng", "Mỹ", "Bích", "Phương")
_GIVEN_MALE = (
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hải",
    "Hùng",
    "Khoa",
    "Long",
    "Minh",
    "Nam",
    "Phúc",
    "Quân",
    "Sơn",
    "Thắng",
    "Tuấn",
    "Việt",
    "Vinh",
    "Đạt",
    "Hiếu",
    "Trung",
)
_GIVEN_FEMALE = (
    "Anh",
    "Chi",
    "Dung",
    "Giang",
    "Hà",
    "Hạnh",
    "Hoa",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "Ngân",
    "Nhung",
    "Oanh",
    "Phượng",
    "Thảo",
    "Trang",
    "Tuyết",
    "Vân",
    "Yến",
)
# Xơ Đăng, Ba Na, Giẻ Triêng and Gia Rai people of Kon Tum often carry "A" (men) or "Y" (women)
# before the given name.
_ETHNIC_GIVEN = (
    "Blin",
    "Thuông",
    "Nhưng",
    "Khoa",
    "Dương",
    "Nhàn",
    "Hiên",
    "Ngưm",
    "Brông",
    "Rin",
    "Kring",
    "Thép",
    "Lú",
    "Hnhiêng",
    "Drang",
    "Mlang",
    "Sương",
    "Trúc",
)
_BUSINESS_WORDS = (
    "Tây Nguyên",
    "Đại Ngàn",
    "Măng Đen",
    "Hưng Thịnh",
    "Phát Đạt",
    "Sông Pô Kô",
    "Ngọc Linh",
    "Bắc Tây Nguyên",
    "Thành Công",
    "Kon Tum Xanh",
    "Hoàng Anh",
    "An Phú",
    "Đắk Bla",
)
_BUSINESS_FORMS = (
    "Công ty TNHH",
    "Công ty TNHH MTV",
    "Công ty Cổ phần",
    "Hợp tác xã",
    "Doanh nghiệp tư nhân",
)
_STATE_AGENCIES = ("Trường Tiểu học", "Trường Trung học cơ sở", "Trạm Y tế", "Trường Mầm non")
_ORGANISATIONS = ("Hội Nông dân", "Hội Liên hiệp Phụ nữ", "Đoàn Thanh niên", "Hội Cựu chiến binh")
_MOBILE_PREFIXES = (
    "086",
    "096",
    "097",
    "098",
    "032",
    "033",
    "035",
    "038",
    "088",
    "091",
    "094",
    "070",
    "079",
)


class Applicant(NamedTuple):
    name: str
    id_number: str  # CCCD (12 digits) for a person, tax code (10 digits) for a business
    phone: str
    email: str | None


def applicant(draw: Stream, subject: int, place: str) -> Applicant:
    """An applicant of type ``subject`` (LoaiDoiTuong 1..4) living near ``place``."""
    if subject == 1:
        name = _person_name(draw)
        # CCCD: province 062, century-and-sex digit, two-digit birth year, six digits.
        id_number = f"062{draw.pick('0123')}{40 + draw.below(60)}{draw.digits(6)}"
    elif subject == 2:
        name = f"{draw.pick(_BUSINESS_FORMS)} {draw.pick(_BUSINESS_WORDS)}"
        id_number = f"61{draw.digits(8)}"  # Kon Tum tax codes start with 61
    else:
        name = f"{draw.pick(_STATE_AGENCIES if subject == 3 else _ORGANISATIONS)} {place}"
        id_number = f"61{draw.digits(8)}"
    phone = f"{draw.pick(_MOBILE_PREFIXES)}{draw.digits(7)}"
    email = f"{ascii_slug(name)}{draw.below(100)}@gmail.com" if draw.random() < 0.4 else None
    return Applicant(name, id_number, phone, email)


def _person_name(draw: Stream) -> str:
    female = draw.random() < 0.5
    if draw.random() < 0.25:
        return f"{'Y' if female else 'A'} {draw.pick(_ETHNIC_GIVEN)}"
    middle = draw.pick(_MIDDLE_FEMALE if female else _MIDDLE_MALE)
    given = draw.pick(_GIVEN_FEMALE if female else _GIVEN_MALE)
    return f"{draw.pick(_FAMILY)} {middle} {given}"


def ascii_slug(text: str) -> str:
    """``Nguyễn Thị Hà`` -> ``nguyenthiha``: what a citizen types for an email address."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()
