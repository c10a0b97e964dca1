"""Kon Tum's communes before 2025-07-01 and the merged communes after, by district.

The names are Kon Tum's own (10 districts, about a hundred xã, phường and thị trấn); how they were
grouped into the new communes of Quảng Ngãi is simplified for the demo. Each district is keyed by
its digit D in ``000.2D.00.H34``: its communes get ``000.2D.NN.H34`` and the merged communes that
succeed them ``000.5D.NN.H45``.
"""

from __future__ import annotations

from typing import NamedTuple

# District digit: its communes, in code order (NN = position).
_OLD = """
0: phường Quyết Thắng; phường Thống Nhất; phường Quang Trung; phường Thắng Lợi;
   phường Trường Chinh; phường Duy Tân; phường Ngô Mây; phường Lê Lợi; phường Nguyễn Trãi;
   phường Trần Hưng Đạo; xã Đắk Cấm; xã Đắk Rơ Wa; xã Đắk Blà; xã Ngọk Bay; xã Vinh Quang;
   xã Kroong; xã Ia Chim; xã Đắk Năng; xã Chư Hreng; xã Hòa Bình; xã Đoàn Kết
1: thị trấn Đắk Glei; xã Đắk Plô; xã Đắk Man; xã Đắk Nhoong; xã Đắk Pék; xã Đắk Kroong;
   xã Đắk Môn; xã Đắk Long; xã Xốp; xã Mường Hoong; xã Ngọc Linh; xã Đắk Choong
2: thị trấn Plei Kần; xã Đắk Ang; xã Đắk Dục; xã Đắk Nông; xã Đắk Xú; xã Đắk Kan; xã Bờ Y;
   xã Sa Loong
3: thị trấn Đắk Tô; xã Đắk Rơ Nga; xã Ngọk Tụ; xã Đắk Trăm; xã Văn Lem; xã Kon Đào;
   xã Tân Cảnh; xã Diên Bình; xã Pô Kô
4: thị trấn Măng Đen; xã Đắk Nên; xã Đắk Ring; xã Măng Bút; xã Đắk Tăng; xã Ngọk Tem; xã Pờ Ê;
   xã Măng Cành; xã Đắk Long; xã Hiếu
5: thị trấn Đắk Rve; xã Đắk Kôi; xã Đắk Tơ Lung; xã Đắk Ruồng; xã Đắk Pne; xã Đắk Tờ Re;
   xã Tân Lập
6: thị trấn Đắk Hà; xã Đắk Pxi; xã Đắk Long; xã Đắk HRing; xã Đắk Ui; xã Đắk Mar; xã Ngọk Wang;
   xã Ngọk Réo; xã Hà Mòn; xã Đắk La; xã Đắk Ngọk
7: thị trấn Sa Thầy; xã Rờ Kơi; xã Sa Nhơn; xã Mô Rai; xã Sa Sơn; xã Sa Nghĩa; xã Sa Bình;
   xã Ya Xiêr; xã Ya Tăng; xã Ya Ly; xã Hơ Moong
8: xã Đắk Hà; xã Đắk Tờ Kan; xã Đắk Rơ Ông; xã Đắk Sao; xã Đắk Na; xã Tu Mơ Rông; xã Ngọk Lây;
   xã Ngọk Yêu; xã Văn Xuôi; xã Tê Xăng; xã Măng Ri
9: xã Ia Đal; xã Ia Dom; xã Ia Tơi
"""

# District digit: merged communes = the positions of the old communes they absorb.
_MERGED = """
0: phường Kon Tum = 1 2 3 4 5; phường Đăk Cấm = 6 7 11; phường Đăk Bla = 8 9 10 13;
   phường Đăk Rơ Wa = 12 15; xã Ngọk Bay = 14 16; xã Ia Chim = 17 21; xã Đăk Năng = 18 19 20
1: xã Đăk Glei = 1 5; xã Đăk Plô = 2 3 4; xã Đăk Môn = 6 7; xã Đăk Long = 8 12; xã Xốp = 9;
   xã Ngọk Linh = 10 11
2: xã Ngọc Hồi = 1 4 6; xã Đăk Dục = 2 3 5; xã Bờ Y = 7; xã Sa Loong = 8
3: xã Đăk Tô = 1 7 8 9; xã Ngọk Tụ = 2 3; xã Kon Đào = 4 5 6
4: xã Măng Đen = 1 5 8; xã Măng Bút = 4 6; xã Đăk Long = 2 3 9; xã Kon Plông = 7 10
5: xã Đăk Rve = 1 2; xã Kon Rẫy = 4 6 7; xã Đăk Pne = 3 5
6: xã Đăk Hà = 1 9 10 11; xã Đăk Pxi = 2 3; xã Đăk Mar = 4 6; xã Đăk Ui = 5 7 8
7: xã Sa Thầy = 1 5 6; xã Sa Bình = 3 7 10; xã Rờ Kơi = 2; xã Mô Rai = 4; xã Ya Tăng = 8 9 11
8: xã Tu Mơ Rông = 1 6; xã Đăk Sao = 4 5; xã Đăk Tờ Kan = 2 3; xã Măng Ri = 7 9 11;
   xã Ngọk Yêu = 8 10
9: xã Ia Tơi = 2 3; xã Ia Đal = 1
"""

# Share of the province's dossiers that each district's people bring (by population, roughly).
DISTRICT_WEIGHT: dict[int, float] = {
    0: 0.30, 1: 0.07, 2: 0.09, 3: 0.08, 4: 0.05, 5: 0.05, 6: 0.10, 7: 0.09, 8: 0.05, 9: 0.03,
}  # fmt: skip


class OldCommune(NamedTuple):
    kind: str  # "xã", "phường" or "thị trấn"
    name: str


class MergedCommune(NamedTuple):
    kind: str
    name: str
    members: tuple[int, ...]  # positions (from 1) of the old communes of the district it absorbs


def _by_district(table: str) -> dict[int, list[str]]:
    """``D: a; b; c`` lines (continued on indented lines) -> {D: [a, b, c]}."""
    entries: dict[int, list[str]] = {}
    digit = -1
    for line in table.strip().splitlines():
        if not line.startswith(" "):
            head, _, line = line.partition(":")
            digit = int(head)
        entries.setdefault(digit, []).extend(e.strip() for e in line.split(";") if e.strip())
    return entries


def _split_kind(text: str) -> tuple[str, str]:
    kind = "thị trấn" if text.startswith("thị trấn ") else text.split(" ", 1)[0]
    return kind, text.removeprefix(kind).strip()


OLD_COMMUNES: dict[int, list[OldCommune]] = {
    digit: [OldCommune(*_split_kind(entry)) for entry in entries]
    for digit, entries in _by_district(_OLD).items()
}

MERGED_COMMUNES: dict[int, list[MergedCommune]] = {
    digit: [
        MergedCommune(*_split_kind(name.strip()), tuple(int(n) for n in members.split()))
        for name, _, members in (entry.partition("=") for entry in entries)
    ]
    for digit, entries in _by_district(_MERGED).items()
}
