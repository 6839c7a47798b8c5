"""Receipts of one generated merchant whose name the embedded OCR and rules get wrong in a way a correction
teaches (ocrflow.demo.receipts, the project's own generator): the shop prints its name over two rows, "SRI MAJU"
and "MINI MARKET (002345-K)"; the rules take the organisation row above the address, "MINI MARKET", and a
reviewer corrects it to "SRI MAJU MINI MARKET". Plus a receipt of another merchant, for the no-leak checks."""

from __future__ import annotations

import random
from pathlib import Path

from ocrflow.demo.receipts import receipt_spec, save_receipt

RIGHT_NAME = "SRI MAJU MINI MARKET"
MACHINE_NAME = "MINI MARKET"
ADDRESS = ("NO 8, JALAN MEGAH 3,", "43000 KAJANG, SELANGOR")


def merchant_receipts(folder: Path, n: int, *, seed: int = 5, first: int = 0) -> list[Path]:
    """``n`` receipts of the merchant (different days, items and totals), one file each, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed + first)
    out = []
    for i in range(first, first + n):
        spec = receipt_spec(rng, "SRI MAJU", "MINI MARKET (002345-K)", ADDRESS, "slash", 3)
        path = folder / f"sri_maju_{i}.jpg"
        save_receipt(spec, path, seed=11 + i)
        out.append(path)
    return out


def other_receipt(folder: Path, *, seed: int = 9) -> Path:
    """A receipt of another merchant, which prints a name row of its own above a "MINI MARKET" row too."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = receipt_spec(random.Random(seed), "KEDAI AH HOCK", "MINI MARKET (778899-T)",
                        ("NO 3, JALAN PASAR BARU,", "50050 KUALA LUMPUR"), "slash", 3)
    path = folder / "ah_hock.jpg"
    save_receipt(spec, path, seed=seed)
    return path
