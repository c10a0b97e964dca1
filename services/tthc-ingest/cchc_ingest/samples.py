"""Contract-shaped sample records (`shared/contracts/one-stop-api.md`) for tests and benchmarks."""

from __future__ import annotations

from typing import Any


def dossier_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "MaHoSo": "000.00.01.H34-240305-00017",
        "PhienBan": 3,
        "NgayCapNhat": "20240305093000",
        "MaTTHC": "1.001234",
        "TenTTHC": "Cấp giấy phép xây dựng",
        "MaLinhVuc": "XAY_DUNG",
        "TenLinhVuc": "Xây dựng",
        "MaDonVi": "000.00.01.H34",
        "KenhThucHien": "2",
        "LoaiDoiTuong": "1",
        "ChuHoSo": "Nguyễn Văn An",
        "SoGiayToChuHoSo": "062090001234",
        "SoDienThoai": "0905123456",
        "Email": "an@example.vn",
        "TrichYeuHoSo": "Xin cấp phép xây dựng nhà ở",
        "NgayNopHoSo": "20240305080000",
        "NgayTiepNhan": "20240305083000",
        "NgayHenTra": "20240315170000",
        "NgayKetThucXuLy": None,
        "NgayTra": None,
        "NgayTuChoi": None,
        "TrangThaiHoSo": "4",
        "HinhThuc": "0",
        "DuocThanhToanTrucTuyen": "1",
        "HoSoCoThanhPhanSoHoa": "0",
        "TaiKhoanDuocXacThucVoiVNeID": "1",
        "TaiLieuNop": [
            {
                "TepDinhKemId": "f1",
                "TenTepDinhKem": "Đơn đề nghị",
                "DuocSoHoa": "1",
                "DuocTaiSuDung": "0",
                "DuocLayTuKhoDMQG": "0",
            },
        ],
        "DanhSachLePhi": [
            {"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP1", "Gia": 50000, "LoaiPhiLePhi": "1"}
        ],
        "DanhSachHoSoBoSung": [],
        "DanhSachGiayToKetQua": [],
        "ChungThucDienTu": "0",
        "DaDongBoDVCQG": "1",
        "DanhGia": None,
    }
    record.update(overrides)
    return record
