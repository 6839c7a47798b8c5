"""The Chinese demo VAT invoice (增值税专用发票), born-digital in reportlab's built-in CID font."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from ocrflow.demo.gold import DemoDoc
from ocrflow.demo.parts import CENT, Item, Party, items_total, random_day, random_items
from ocrflow.demo.pdf import MARGIN, PAGE_H, PAGE_W, ROW_H, Pen, new_pen
from ocrflow.demo.truth import DocTruth

CID_FONT = "STSong-Light"
FAPIAO_FILE = "invoice_zh_vat.pdf"


@dataclass(frozen=True, slots=True)
class FapiaoSpec:
    code: str
    number: str
    issued: date
    seller: Party
    buyer: Party
    items: tuple[Item, ...]
    tax_rate: Decimal = Decimal("0.13")

    @property
    def subtotal(self) -> Decimal:
        return items_total(self.items)

    @property
    def tax(self) -> Decimal:
        return (self.subtotal * self.tax_rate).quantize(CENT, ROUND_HALF_UP)

    def fields(self) -> dict[str, Any]:
        return {"invoice_number": self.number, "invoice_date": self.issued.isoformat(),
                "seller_name": self.seller.name, "seller_tax_id": self.seller.tax_id,
                "buyer_name": self.buyer.name, "buyer_tax_id": self.buyer.tax_id, "currency": "CNY",
                "subtotal_amount": float(self.subtotal), "tax_amount": float(self.tax),
                "total_amount": float(self.subtotal + self.tax)}

    def cn_fields(self) -> dict[str, Any]:
        """Ground truth in the cn_vat_invoice contract's field names."""
        return {"invoice_code": self.code, "invoice_number": self.number, "issue_date": self.issued.isoformat(),
                "seller_name": self.seller.name, "seller_tax_id": self.seller.tax_id,
                "buyer_name": self.buyer.name, "buyer_tax_id": self.buyer.tax_id,
                "amount": float(self.subtotal), "tax_amount": float(self.tax),
                "total_amount": float(self.subtotal + self.tax)}


_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc(rng: random.Random, region: str = "310115") -> str:
    """A random 18-character unified social credit code with a valid check character (GB 32100-2015)."""
    body = "91" + region + "".join(rng.choice(_USCC_CHARS) for _ in range(9))
    check = (31 - sum(_USCC_CHARS.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=True)) % 31) % 31
    return body + _USCC_CHARS[check]


_CN_SELLERS = (("上海明远科技有限公司", "上海市浦东新区张江路88号 021-5080 1234", "310115"),
               ("深圳华创信息技术有限公司", "深圳市南山区科技园路6号 0755-8601 2345", "440305"))
_CN_BUYERS = (("北京华信贸易有限公司", "北京市朝阳区建国路1号 010-6500 8888", "110105"),
              ("杭州云帆网络有限公司", "杭州市西湖区文三路90号 0571-8888 6666", "330106"))
_CN_GOODS = ("信息技术服务费", "软件维护服务", "办公用品", "服务器租赁", "技术咨询费", "打印耗材")


def fapiao_spec(rng: random.Random) -> FapiaoSpec:
    seller_name, seller_addr, seller_region = rng.choice(_CN_SELLERS)
    buyer_name, buyer_addr, buyer_region = rng.choice(_CN_BUYERS)
    seller = Party(seller_name, (seller_addr,), uscc(rng, seller_region))
    buyer = Party(buyer_name, (buyer_addr,), uscc(rng, buyer_region))
    return FapiaoSpec(code=f"{rng.randint(10**9, 10**10 - 1)}", number=f"{rng.randint(10**7, 10**8 - 1)}",
                      issued=random_day(rng, 2024), seller=seller, buyer=buyer,
                      items=random_items(rng, _CN_GOODS, 3, 10000, 300000))


def make_fapiao(out_dir: Path, rng: random.Random) -> DemoDoc:
    spec = fapiao_spec(rng)
    truth = render_fapiao_pdf(spec, out_dir / FAPIAO_FILE)
    return DemoDoc(FAPIAO_FILE, "cn_vat_invoice", spec.cn_fields(), truth=truth)


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def render_fapiao_pdf(spec: FapiaoSpec, path: Path) -> DocTruth:
    """A 增值税专用发票-style invoice drawn in reportlab's built-in CID font (no font files)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CID_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FONT))
    pen = new_pen(path, f"发票 {spec.number}", spec.seller.name)
    top = PAGE_H - MARGIN
    pen.fill_rgb(0.6, 0.1, 0.1)
    pen.set_font(CID_FONT, 20)
    pen.text_centred(PAGE_W / 2, top - 10, "增值税专用发票")
    pen.fill_rgb(0, 0, 0)
    _cn_pairs(pen, [("发票代码：", spec.code), ("发票号码：", spec.number),
                    ("开票日期：", _cn_date(spec.issued))], PAGE_W - MARGIN - 190, top - 40)
    y = _cn_party(pen, "购买方", spec.buyer, top - 110)
    y = _cn_items(pen, spec, y - 16)
    y = _cn_party(pen, "销售方", spec.seller, y - 24)
    pen.set_font(CID_FONT, 10)
    pen.text(MARGIN, y - 24, "收款人：王芳    复核：李强    开票人：张伟")
    return pen.save()


def _cn_pairs(pen: Pen, pairs: Sequence[tuple[str, str]], x: float, y: float) -> None:
    pen.set_font(CID_FONT, 11)
    for label, value in pairs:
        pen.text(x, y, f"{label}{value}")
        y -= 16


def _cn_party(pen: Pen, role: str, party: Party, y: float) -> float:
    pen.set_font(CID_FONT, 11)
    pen.text(MARGIN, y, f"{role}名称：{party.name}")
    pen.text(MARGIN, y - 16, f"纳税人识别号：{party.tax_id}")
    pen.text(MARGIN, y - 32, f"地址、电话：{party.address[0]}")
    return y - 32


_CN_COLS = (MARGIN, 250.0, 300.0, 370.0, 450.0, 490.0, PAGE_W - MARGIN)
_CN_HEADS = ("货物或应税劳务、服务名称", "数量", "单价", "金额", "税率", "税额")


def _cn_items(pen: Pen, spec: FapiaoSpec, y: float) -> float:
    pen.set_font(CID_FONT, 10)
    for x, head in zip(_CN_COLS, _CN_HEADS, strict=False):
        pen.text(x, y, head)
    pen.line(MARGIN, y - 4, PAGE_W - MARGIN, y - 4)
    rate = f"{int(spec.tax_rate * 100)}%"
    for item in spec.items:
        y -= ROW_H
        tax = (item.amount * spec.tax_rate).quantize(CENT, ROUND_HALF_UP)
        row = (item.description, str(item.quantity), f"{item.unit_price:.2f}", f"{item.amount:.2f}", rate,
               f"{tax:.2f}")
        for x, text in zip(_CN_COLS, row, strict=False):
            pen.text(x, y, text)
    y -= ROW_H + 4
    pen.line(MARGIN, y + 11, PAGE_W - MARGIN, y + 11)
    pen.text(MARGIN, y, f"金额：¥{spec.subtotal:.2f}")
    pen.text(_CN_COLS[4], y, f"税额：¥{spec.tax:.2f}")
    y -= ROW_H + 2
    pen.set_font(CID_FONT, 12)
    pen.text(MARGIN, y, f"价税合计（小写）：¥{spec.subtotal + spec.tax:.2f}")
    return y

