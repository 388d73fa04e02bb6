"""Reference datasets: 法律法规, 执法事项, 执法主体, 执法人员 and 执法对象, taken from the province.

The law dataset is the packaged law registry itself (one record per version); the others are the
pools the action records were drawn from, so every agency, officer and matter an action cites is
also present in its reference dataset.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from enforcehub.standard.registry import LawRegistry
from enforcehub.synth import ids
from enforcehub.synth.common import concat, fill, text, yes_no
from enforcehub.synth.frame import Vocabulary
from enforcehub.synth.parties import PERSON, addresses
from enforcehub.synth.province import JUSTICE, Province, department_of
from enforcehub.synth.world import TOWNS

LEVELS = {"法律": "法律", "行政法规": "行政法规", "部门规章": "部门规章", "地方性法规": "地方性法规"}
# Where a local regulation applies: the province, or the city (经济特区 and 横琴 included) named in it.
LOCAL_PREFIXES = (
    ("深圳", "440300"),
    ("汕头", "440500"),
    ("横琴", "440400"),
    ("珠海", "440400"),
    ("广州", "440100"),
    ("东莞", "441900"),
    ("云浮", "445300"),
    ("汕尾", "441500"),
    ("江门", "440700"),
    ("河源", "441600"),
    ("湛江", "440800"),
    ("潮州", "445100"),
    ("阳江", "441700"),
    ("清远", "441800"),
    ("韶关", "440200"),
)
# GB/T 4754 industry codes by enforcement field (门类 + 大类).
INDUSTRY = {
    "market": "F52",
    "environment": "C33",
    "safety": "C26",
    "transport": "G54",
    "urban": "E48",
    "housing": "E47",
    "resources": "K70",
    "health": "Q84",
    "culture": "R90",
    "police": "H61",
    "agriculture": "A01",
    "water": "N76",
}


def laws(vocab: Vocabulary) -> dict[str, pl.Series]:
    """One record per version of every instrument in the law registry."""
    versions = LawRegistry.load().all_versions()
    local = [v.level == "地方性法规" for v in versions]
    region = []
    for v in versions:
        code = "440000"
        for prefix, city in LOCAL_PREFIXES:
            if v.name.startswith(prefix):
                code = city
                break
        region.append(code if v.level == "地方性法规" else "")
    superseded = [v.effective_to is not None for v in versions]
    return {
        "law_id": text([v.law_id for v in versions]),
        "name": text([v.title for v in versions]),
        "short_name": text([v.name for v in versions]),
        "level": text([vocab.label("law_level", LEVELS[v.level]) for v in versions]),
        "issuer": text([v.issuer or "全国人民代表大会常务委员会" for v in versions]),
        "revision": text([("；".join(v.history))[:2000] for v in versions]),
        "version_date": pl.Series([v.version_date for v in versions]).cast(pl.Utf8),
        "effective_from": pl.Series([v.effective_from for v in versions]).cast(pl.Utf8),
        "effective_to": pl.Series([v.effective_to for v in versions], dtype=pl.Date).cast(pl.Utf8),
        "status": text([vocab.label("law_status", "已修改" if s else "有效") for s in superseded]),
        "article_count": text([str(v.max_article) if v.max_article else "" for v in versions]),
        "region_code": text(region, np.asarray(local)),
        "source": text(["LawRefBook/Laws"] * len(versions)),
    }


def matters(province: Province, vocab: Vocabulary) -> dict[str, pl.Series]:
    """The matter catalogue (执法事项清单) of the province."""
    table = province.matters
    kinds = {
        "AP": "行政处罚",
        "AL": "行政许可",
        "AF": "行政强制",
        "AC": "行政检查",
        "AE": "行政征收",
        "AR": "行政征用",
    }
    types = table["type"].to_numpy().astype(str)
    penalty = types == "AP"
    limits = {"AP": "90", "AL": "20", "AF": "30", "AE": "30", "AR": "", "AC": ""}
    return {
        "matter_code": table["code"],
        "power_item_code": table["power_code"],
        "matter_name": table["name"],
        "matter_type": text([vocab.label("matter_type", kinds[t]) for t in types.tolist()]),
        "agency_field": text(
            [vocab.label("agency_field", department_of(f)) for f in table["field"].to_list()]
        ),
        "implementing_level": text(
            np.full(table.height, vocab.items("implementing_level", ["省级", "市级", "县级"]))
        ),
        "legal_basis": table["basis"],
        "region_code": text(np.full(table.height, "440000")),
        "supervision_matter_code": text(
            table["supervision_code"].to_numpy().astype(str), np.isin(types, ["AP", "AC"])
        ),
        "discretion_standard": text(
            np.where(penalty, "按照《广东省市场监督管理行政处罚自由裁量权适用规则》及本部门裁量基准执行", "")
        ),
        "hearing_threshold_person": text(np.full(table.height, "5000"), penalty),
        "hearing_threshold_org": text(np.full(table.height, "50000"), penalty),
        "time_limit_days": text([limits[t] for t in types.tolist()]),
        "effective_from": text(np.full(table.height, "2023-01-01")),
        "status": text(np.full(table.height, vocab.label("matter_status", "有效"))),
    }


STREETS = ("城南", "城北", "东湖", "西湖", "新华", "中山", "金沙", "龙华", "南岗", "北江")
# Telephone area codes of the prefectures (the province's offices sit in Guangzhou: 020).
AREA_CODES = {
    "440100": "020", "440200": "0751", "440300": "0755", "440400": "0756", "440500": "0754",
    "440600": "0757", "440700": "0750", "440800": "0759", "440900": "0668", "441200": "0758",
    "441300": "0752", "441400": "0753", "441500": "0660", "441600": "0762", "441700": "0662",
    "441800": "0763", "441900": "0769", "442000": "0760", "445100": "0768", "445200": "0663",
    "445300": "0766",
}  # fmt: skip


def _office_addresses(rng: np.random.Generator, province: Province, table: pl.DataFrame) -> pl.Series:
    """广州市天河区华利路59号-style office addresses in the agency's own division."""
    names = {
        p.code: p.city_name + (p.name if p.code != p.city else "")
        for p in province.cities + province.counties
    }
    names["440000"] = "广州市越秀区"
    place = np.asarray([names.get(code, "") for code in table["region_code"].to_list()])
    cities = table["city"].to_numpy().astype(str)
    street = addresses(rng, place, cities)
    # In 东莞/中山 the address starts at the town (长安镇…): put the city in front.
    town_city = np.isin(cities, list(TOWNS))
    return pl.Series(np.where(town_city, np.char.add(place, street), street).tolist(), dtype=pl.Utf8)


def agencies(province: Province, vocab: Vocabulary) -> dict[str, pl.Series]:
    """Every enforcement agency and supervision body (司法厅/司法局), plus bodies that do not report
    themselves: street teams entrusted by a county 城管局 and a few bodies merged away in 2019."""
    table = pl.concat([province.agencies, province.supervisors], how="diagonal")
    rng = np.random.default_rng(table.height)
    extra = _entrusted_and_revoked(rng, table)
    n = table.height
    fields = table["field"].to_numpy().astype(str)
    supervisor = fields == JUSTICE
    parents = table["parent"].fill_null("").to_numpy().astype(str)
    by_name = dict(zip(table["name"].to_list(), table["uscc"].to_list(), strict=True))
    levels = table["level"].to_numpy().astype(str)
    # 9-digit area code: the division plus a township part; town branches of 东莞/中山 get their own.
    town_no = np.cumsum(levels == "town") * (levels == "town")
    area = concat(
        table["region_code"],
        pl.Series(np.where(levels == "town", np.char.zfill((100 + town_no).astype(str), 3), "000").tolist()),
    )
    established = (np.datetime64("2018-10-01") + rng.integers(0, 900, n)).astype("datetime64[D]")
    kind = np.where(supervisor, "行政执法监督机构", "行政执法机关")
    main = {
        "agency_name": table["name"],
        "agency_uscc": table["uscc"],
        "agency_kind": text([vocab.label("agency_kind", k) for k in kind.tolist()]),
        "agency_field": text([vocab.items("agency_field", [department_of(f)]) for f in fields.tolist()]),
        "region_code": table["region_code"],
        "area_code": area,
        "parent_department_name": text(parents, parents != ""),
        "parent_department_uscc": text([by_name.get(p, "") for p in parents.tolist()]),
        "legal_basis_of_authority": text(
            np.where(
                supervisor,
                "《广东省行政执法监督条例》；本级人民政府授权",
                "《中华人民共和国行政处罚法》第十七条；本级机构编制部门批准的“三定”规定",
            )
        ),
        "address": _office_addresses(rng, province, table),
        "phone": concat(
            pl.Series([AREA_CODES.get(c, "020") for c in table["city"].to_list()], dtype=pl.Utf8),
            "-",
            pl.Series(rng.integers(20000000, 89999999, n).astype(str).tolist()),
        ),
        "established_date": pl.Series(established).cast(pl.Utf8),
        "status": text(np.full(n, vocab.label("agency_status", "有效"))),
    }
    extra_columns = {k: pl.Series(v, dtype=pl.Utf8) for k, v in extra.items()}
    extra_columns["agency_kind"] = text([vocab.label("agency_kind", str(k)) for k in extra["agency_kind"]])
    extra_columns["agency_field"] = text(
        [vocab.items("agency_field", [str(k)]) for k in extra["agency_field"]]
    )
    extra_columns["status"] = text([vocab.label("agency_status", str(k)) for k in extra["status"]])
    return {
        name: pl.concat(
            [column, extra_columns.get(name, pl.Series([None] * len(extra["agency_name"]), dtype=pl.Utf8))]
        )
        for name, column in main.items()
    } | {
        name: pl.concat([pl.Series([None] * n, dtype=pl.Utf8), column])
        for name, column in extra_columns.items()
        if name not in main
    }


def _entrusted_and_revoked(rng: np.random.Generator, table: pl.DataFrame) -> dict[str, list[str | None]]:
    urban = table.filter((pl.col("field") == "urban") & (pl.col("level") == "county")).head(12)
    merged = table.filter((pl.col("field") == "urban") & (pl.col("level") == "city")).head(5)
    taken = set(table["uscc"].to_list())
    regions = np.asarray(urban["region_code"].to_list() + merged["region_code"].to_list(), dtype="U6")
    prefix = ["12"] * urban.height + ["11"] * merged.height
    codes = [
        ids.unique_usccs(rng, p, regions[i : i + 1], style="government", taken=taken)[0]
        for i, p in enumerate(prefix)
    ]
    streets = np.asarray(STREETS)[rng.integers(0, len(STREETS), urban.height)]
    out: dict[str, list[str | None]] = {
        k: []
        for k in (
            "agency_name",
            "agency_uscc",
            "agency_kind",
            "agency_field",
            "region_code",
            "area_code",
            "legal_basis_of_authority",
            "entrusting_agency_name",
            "entrusting_agency_uscc",
            "established_date",
            "revoked_date",
            "status",
            "remarks",
        )
    }
    for i, row in enumerate(urban.iter_rows(named=True)):
        county = row["name"].removesuffix("城市管理和综合执法局")
        out["agency_name"].append(f"{county}{streets[i]}街道综合行政执法队")
        out["agency_kind"].append("受委托组织")
        out["entrusting_agency_name"].append(row["name"])
        out["entrusting_agency_uscc"].append(row["uscc"])
        out["established_date"].append("2020-01-01")
        out["revoked_date"].append(None)
        out["status"].append("有效")
        out["remarks"].append(None)
        out["legal_basis_of_authority"].append("《中华人民共和国行政处罚法》第二十条；委托书")
    for row in merged.iter_rows(named=True):
        out["agency_name"].append(row["name"].replace("城市管理和综合执法局", "城市管理委员会"))
        out["agency_kind"].append("行政执法机关")
        out["entrusting_agency_name"].append(None)
        out["entrusting_agency_uscc"].append(None)
        out["established_date"].append("2010-03-01")
        out["revoked_date"].append("2019-01-31")
        out["status"].append("已撤销")
        out["remarks"].append("机构改革后职责并入城市管理和综合执法局")
        out["legal_basis_of_authority"].append("本级机构编制部门批准的“三定”规定")
    out["agency_uscc"] = [str(c) for c in codes]
    out["agency_field"] = ["城市管理和综合执法"] * len(codes)
    out["region_code"] = regions.tolist()
    out["area_code"] = [f"{r}000" for r in regions.tolist()]
    return out


def officers(province: Province, vocab: Vocabulary) -> dict[str, pl.Series]:
    """Every officer with a 执法证 (or 执法监督证) and the agency that holds it."""
    table = province.officers
    bodies = pl.concat([province.agencies, province.supervisors], how="diagonal").sort("agency_index")
    rows = bodies[table["agency_index"].to_numpy()]
    fields = table["field"].to_numpy().astype(str)
    cert_type = np.where(
        fields == JUSTICE, "行政执法监督证", np.where(fields == "police", "其他", "行政执法证")
    )
    return {
        "name": table["name"],
        "cert_number": table["cert_number"],
        "cert_type": text([vocab.label("officer_cert_type", c) for c in cert_type.tolist()]),
        "agency_name": rows["name"],
        "agency_uscc": rows["uscc"],
        "enforcement_field": text([vocab.items("agency_field", [department_of(f)]) for f in fields.tolist()]),
        "cert_issue_date": table["cert_issue_date"].cast(pl.Utf8),
        "cert_valid_until": table["cert_valid_until"].cast(pl.Utf8),
        "status": text(np.full(table.height, vocab.label("officer_status", "有效"))),
        "has_legal_qualification": yes_no(table["legal_qualification"].to_numpy()),
        "id_number": table["id_number"],
        "position": table["position"],
    }


def counterparties(province: Province, vocab: Vocabulary) -> dict[str, pl.Series]:
    """Every counterparty of the province: USCC or ID number as its code."""
    table = province.parties.table
    category = table["category"].to_numpy().astype(str)
    person = category == PERSON
    code = np.where(
        person, table["id_number"].to_numpy().astype(str), table["uscc"].fill_null("").to_numpy().astype(str)
    )
    city_names = {c.code: c.name for c in province.cities}
    address = concat(pl.Series([city_names[c] for c in table["city"].to_list()]), table["address"])
    rng = np.random.default_rng(table.height)
    phone = concat(
        "1",
        pl.Series(
            fill(
                ("35", "36", "37", "38", "39", "58", "59", "88", "89"), rng.integers(0, 9, table.height)
            ).tolist()
        ),
        pl.Series(rng.integers(0, 10**8, table.height).astype(str).tolist()).str.zfill(8),
    )
    region = np.where(
        person,
        table["id_number"].str.slice(0, 6).to_numpy().astype(str),
        table["county"].to_numpy().astype(str),
    )
    return {
        "counterparty_code": text(code),
        "counterparty_name": table["name"],
        "counterparty_category": table["category"],
        "id_type": text(np.full(table.height, vocab.label("id_type", "居民身份证")), person),
        "legal_representative": text(
            table["legal_representative"].fill_null("").to_numpy().astype(str), ~person
        ),
        "registered_address": address,
        "business_address": pl.select(pl.when(pl.Series(~person)).then(address)).to_series(),
        "region_code": text(region),
        "industry": text([INDUSTRY[f] for f in table["field"].to_list()], ~person),
        "phone": phone,
        "established_date": pl.select(
            pl.when(pl.Series(~person)).then(table["founded"].cast(pl.Utf8))
        ).to_series(),
        "birth_date": pl.select(
            pl.when(pl.Series(person)).then(table["birth_date"].cast(pl.Utf8))
        ).to_series(),
        "status": text(np.full(table.height, vocab.label("counterparty_status", "存续"))),
    }
