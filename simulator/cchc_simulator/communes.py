"""Kon Tum's communes before 2025-07-01 and the merged communes after, by district.

The names are Kon Tum's own (10 districts, about a hundred xã, phường and thị trấn); how they were
grouped into the new communes of Quảng Ngãi is simplified for the demo. Each district is keyed by
its digit D in ``000.2D.00.H34``: its communes get ``000.2D.NN.H34`` and the merged communes that
succeed them ``000.5D.NN.H45``.
"""

from __future__ import annotations

from typing import NamedTuple


class OldCommune(NamedTuple):
    kind: str  # "xã", "phường" or "thị trấn"
    name: str


class MergedCommune(NamedTuple):
    kind: str
    name: str
    members: tuple[int, ...]  # positions (from 1) of the old communes of the district it absorbs


def _xa(*names: str) -> list[OldCommune]:
    return [OldCommune("xã", n) for n in names]


OLD_COMMUNES: dict[int, list[OldCommune]] = {
    0: [OldCommune("phường", n) for n in ("Quyết Thắng", "Thống Nhất", "Quang Trung", "Thắng Lợi",
                                          "Trường Chinh", "Duy Tân", "Ngô Mây", "Lê Lợi",
                                          "Nguyễn Trãi", "Trần Hưng Đạo")]
    + _xa("Đắk Cấm", "Đắk Rơ Wa", "Đắk Blà", "Ngọk Bay", "Vinh Quang", "Kroong", "Ia Chim",
          "Đắk Năng", "Chư Hreng", "Hòa Bình", "Đoàn Kết"),
    1: [OldCommune("thị trấn", "Đắk Glei")]
    + _xa("Đắk Plô", "Đắk Man", "Đắk Nhoong", "Đắk Pék", "Đắk Kroong", "Đắk Môn", "Đắk Long",
          "Xốp", "Mường Hoong", "Ngọc Linh", "Đắk Choong"),
    2: [OldCommune("thị trấn", "Plei Kần")]
    + _xa("Đắk Ang", "Đắk Dục", "Đắk Nông", "Đắk Xú", "Đắk Kan", "Bờ Y", "Sa Loong"),
    3: [OldCommune("thị trấn", "Đắk Tô")]
    + _xa("Đắk Rơ Nga", "Ngọk Tụ", "Đắk Trăm", "Văn Lem", "Kon Đào", "Tân Cảnh", "Diên Bình",
          "Pô Kô"),
    4: [OldCommune("thị trấn", "Măng Đen")]
    + _xa("Đắk Nên", "Đắk Ring", "Măng Bút", "Đắk Tăng", "Ngọk Tem", "Pờ Ê", "Măng Cành",
          "Đắk Long", "Hiếu"),
    5: [OldCommune("thị trấn", "Đắk Rve")]
    + _xa("Đắk Kôi", "Đắk Tơ Lung", "Đắk Ruồng", "Đắk Pne", "Đắk Tờ Re", "Tân Lập"),
    6: [OldCommune("thị trấn", "Đắk Hà")]
    + _xa("Đắk Pxi", "Đắk Long", "Đắk HRing", "Đắk Ui", "Đắk Mar", "Ngọk Wang", "Ngọk Réo",
          "Hà Mòn", "Đắk La", "Đắk Ngọk"),
    7: [OldCommune("thị trấn", "Sa Thầy")]
    + _xa("Rờ Kơi", "Sa Nhơn", "Mô Rai", "Sa Sơn", "Sa Nghĩa", "Sa Bình", "Ya Xiêr", "Ya Tăng",
          "Ya Ly", "Hơ Moong"),
    8: _xa("Đắk Hà", "Đắk Tờ Kan", "Đắk Rơ Ông", "Đắk Sao", "Đắk Na", "Tu Mơ Rông", "Ngọk Lây",
           "Ngọk Yêu", "Văn Xuôi", "Tê Xăng", "Măng Ri"),
    9: _xa("Ia Đal", "Ia Dom", "Ia Tơi"),
}

MERGED_COMMUNES: dict[int, list[MergedCommune]] = {
    0: [
        MergedCommune("phường", "Kon Tum", (1, 2, 3, 4, 5)),
        MergedCommune("phường", "Đăk Cấm", (6, 7, 11)),
        MergedCommune("phường", "Đăk Bla", (8, 9, 10, 13)),
        MergedCommune("phường", "Đăk Rơ Wa", (12, 15)),
        MergedCommune("xã", "Ngọk Bay", (14, 16)),
        MergedCommune("xã", "Ia Chim", (17, 21)),
        MergedCommune("xã", "Đăk Năng", (18, 19, 20)),
    ],
    1: [
        MergedCommune("xã", "Đăk Glei", (1, 5)),
        MergedCommune("xã", "Đăk Plô", (2, 3, 4)),
        MergedCommune("xã", "Đăk Môn", (6, 7)),
        MergedCommune("xã", "Đăk Long", (8, 12)),
        MergedCommune("xã", "Xốp", (9,)),
        MergedCommune("xã", "Ngọk Linh", (10, 11)),
    ],
    2: [
        MergedCommune("xã", "Ngọc Hồi", (1, 4, 6)),
        MergedCommune("xã", "Đăk Dục", (2, 3, 5)),
        MergedCommune("xã", "Bờ Y", (7,)),
        MergedCommune("xã", "Sa Loong", (8,)),
    ],
    3: [
        MergedCommune("xã", "Đăk Tô", (1, 7, 8, 9)),
        MergedCommune("xã", "Ngọk Tụ", (2, 3)),
        MergedCommune("xã", "Kon Đào", (4, 5, 6)),
    ],
    4: [
        MergedCommune("xã", "Măng Đen", (1, 5, 8)),
        MergedCommune("xã", "Măng Bút", (4, 6)),
        MergedCommune("xã", "Đăk Long", (2, 3, 9)),
        MergedCommune("xã", "Kon Plông", (7, 10)),
    ],
    5: [
        MergedCommune("xã", "Đăk Rve", (1, 2)),
        MergedCommune("xã", "Kon Rẫy", (4, 6, 7)),
        MergedCommune("xã", "Đăk Pne", (3, 5)),
    ],
    6: [
        MergedCommune("xã", "Đăk Hà", (1, 9, 10, 11)),
        MergedCommune("xã", "Đăk Pxi", (2, 3)),
        MergedCommune("xã", "Đăk Mar", (4, 6)),
        MergedCommune("xã", "Đăk Ui", (5, 7, 8)),
    ],
    7: [
        MergedCommune("xã", "Sa Thầy", (1, 5, 6)),
        MergedCommune("xã", "Sa Bình", (3, 7, 10)),
        MergedCommune("xã", "Rờ Kơi", (2,)),
        MergedCommune("xã", "Mô Rai", (4,)),
        MergedCommune("xã", "Ya Tăng", (8, 9, 11)),
    ],
    8: [
        MergedCommune("xã", "Tu Mơ Rông", (1, 6)),
        MergedCommune("xã", "Đăk Sao", (4, 5)),
        MergedCommune("xã", "Đăk Tờ Kan", (2, 3)),
        MergedCommune("xã", "Măng Ri", (7, 9, 11)),
        MergedCommune("xã", "Ngọk Yêu", (8, 10)),
    ],
    9: [
        MergedCommune("xã", "Ia Tơi", (2, 3)),
        MergedCommune("xã", "Ia Đal", (1,)),
    ],
}

# Share of the province's dossiers that each district's people bring (by population, roughly).
DISTRICT_WEIGHT: dict[int, float] = {
    0: 0.30, 1: 0.07, 2: 0.09, 3: 0.08, 4: 0.05, 5: 0.05, 6: 0.10, 7: 0.09, 8: 0.05, 9: 0.03,
}
