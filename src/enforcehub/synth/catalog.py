"""What each kind of agency punishes: violations with their facts, real legal bases and sanctions.

Every citation names a real instrument of the packaged law registry and a real article; a test
checks that the article exists in every version in force over the generated period and that
its text contains the `keyword` (so 食品安全法 第一百二十四条 really is the food-safety penalty
article). Where a revision renumbered an article, `since` gives the number per version.

Fact templates use placeholders filled per row: {vdate} 违法日期 (2025年3月12日), {vmonth}
(2025年3月), {place} 地址, {value} 货值金额, {gain} 违法所得, {plate} 车牌, {count} a small count,
and any name in `options` (drawn per row from that violation's own list).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Sanction labels as in 行政处罚法 Art. 9 (reference 3.4); mapped to the standard's codes at run time.
WARNING, CRITICISM, FINE, CONFISCATE_GAIN, CONFISCATE_PROPERTY = "警告", "通报批评", "罚款", "没收违法所得", "没收非法财物"
SUSPEND, DOWNGRADE, REVOKE = "暂扣许可证件", "降低资质等级", "吊销许可证件"
RESTRICT, SUSPEND_BUSINESS, CLOSE, BAN, DETENTION = (
    "限制开展生产经营活动", "责令停产停业", "责令关闭", "限制从业", "行政拘留",
)


@dataclass(frozen=True)
class Cite:
    """One cited article of a registry instrument; `since` renumbers it for later versions."""

    law: str  # registry short name, e.g. 食品安全法
    article: int
    keyword: str  # a word the article text contains (checked by the tests)
    clause: str = ""  # 款/项 for the text only, e.g. 第一款第（五）项
    since: tuple[tuple[str, int], ...] = ()  # (version effective_from ISO date, article number)

    def article_on(self, iso_date: str) -> int:
        """The article number in the version in force on `iso_date`."""
        number = self.article
        for start, renumbered in self.since:
            if iso_date >= start:
                number = renumbered
        return number


@dataclass(frozen=True)
class Violation:
    """One kind of violation an agency of `field` punishes."""

    key: str
    field: str
    type: str  # 违法行为类型
    matter: str  # the power item (执法事项) it is punished under
    facts: tuple[str, ...]
    violated: Cite
    punished: Cite
    kinds: tuple[tuple[tuple[str, ...], float], ...]  # sanction sets with weights
    fine: tuple[int, int] = (0, 0)  # usual fine range for organisations (元)
    fine_person: tuple[int, int] = (0, 0)  # usual fine range for natural persons (元)
    parties: tuple[float, float, float] = (0.6, 0.35, 0.05)  # org, 个体工商户, 自然人
    summary: float = 0.0  # share decided by 简易程序 where the statute allows it
    gain: tuple[int, int] = (200, 20000)  # 违法所得 range when confiscated
    weight: float = 1.0
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    plate: bool = False


def _k(*sets: tuple[tuple[str, ...], float]) -> tuple[tuple[tuple[str, ...], float], ...]:
    return sets


FOOD = ("预包装饮料", "饼干", "速冻饺子", "酸奶", "调味酱", "腊肠", "月饼", "鲜切面条", "散装大米", "食用植物油", "婴幼儿配方奶粉",
        "袋装卤味", "蛋糕", "方便面")
ADS = ("“全网最低价”", "“国家级产品”", "“最佳选择”", "“100%无副作用”", "“第一品牌”", "“顶级品质”")

VIOLATIONS: tuple[Violation, ...] = (
    # --- 市场监督管理 ---------------------------------------------------------------------------
    Violation(
        "food-expired", "market", "经营超过保质期的食品", "对经营超过保质期食品的行政处罚",
        ("经查，当事人于{vdate}在其位于{place}的经营场所销售超过保质期的{goods}，货值金额{value}元，违法所得{gain}元。",
         "经查，{vmonth}当事人在{place}经营场所的货架上陈列销售已超过保质期的{goods}共{count}件，货值金额{value}元。"),
        Cite("食品安全法", 34, "超过保质期", "第（十）项"), Cite("食品安全法", 124, "罚款", "第一款第（五）项"),
        _k(((FINE, CONFISCATE_GAIN), 6.0), ((FINE,), 3.0), ((WARNING,), 1.0)),
        fine=(5000, 100000), fine_person=(2000, 50000), parties=(0.45, 0.5, 0.05), gain=(50, 3000), weight=5.0,
        options={"goods": FOOD},
    ),
    Violation(
        "food-no-license", "market", "未取得食品经营许可从事食品经营活动", "对未取得食品生产经营许可从事食品生产经营活动的行政处罚",
        ("经查，当事人自{vmonth}起在{place}从事餐饮服务，至被查获时未取得食品经营许可证，违法所得{gain}元。",
         "经查，当事人未取得食品经营许可，于{vdate}在{place}销售自制{goods}，货值金额{value}元。"),
        Cite("食品安全法", 35, "许可"), Cite("食品安全法", 122, "未取得食品生产经营许可", "第一款"),
        _k(((FINE, CONFISCATE_GAIN), 5.0), ((FINE, CONFISCATE_GAIN, CONFISCATE_PROPERTY), 2.0)),
        fine=(10000, 100000), fine_person=(5000, 50000), parties=(0.3, 0.6, 0.1), gain=(300, 30000), weight=3.0,
        options={"goods": ("卤味", "糕点", "凉茶", "盒饭", "肠粉", "烧腊")},
    ),
    Violation(
        "food-health-cert", "market", "食品从业人员未取得健康证明上岗", "对食品生产经营者未按规定建立并执行从业人员健康管理制度的行政处罚",
        ("经查，当事人{count}名从事接触直接入口食品工作的从业人员于{vdate}未取得健康证明即上岗工作。",),
        Cite("食品安全法", 45, "健康证明", "第二款"), Cite("食品安全法", 126, "警告", "第一款第（六）项"),
        _k(((WARNING,), 6.0), ((FINE,), 2.0), ((WARNING, FINE), 1.0)),
        fine=(1000, 3000), fine_person=(100, 200), parties=(0.45, 0.5, 0.05), summary=0.6, weight=4.0,
    ),
    Violation(
        "product-fake", "market", "销售以次充好的产品", "对在产品中掺杂掺假、以假充真、以次充好的行政处罚",
        ("经查，当事人于{vdate}在{place}销售的{goods}经抽样检验不合格，以不合格产品冒充合格产品，货值金额{value}元，违法所得{gain}元。",),
        Cite("产品质量法", 32, "以次充好"), Cite("产品质量法", 50, "罚款"),
        _k(((FINE, CONFISCATE_GAIN, CONFISCATE_PROPERTY), 5.0), ((FINE, CONFISCATE_PROPERTY), 3.0)),
        fine=(3000, 200000), fine_person=(1000, 50000), parties=(0.7, 0.28, 0.02), gain=(500, 50000), weight=2.0,
        options={"goods": ("电线电缆", "电动自行车", "插座", "儿童玩具", "安全帽", "钢筋", "化肥", "服装")},
    ),
    Violation(
        "ad-absolute", "market", "广告使用绝对化用语", "对发布违反广告法第九条规定广告的行政处罚",
        ("经查，当事人自{vmonth}起在其网店商品详情页及{place}店内宣传海报中使用{claim}等用语发布广告，广告费用无法计算。",),
        Cite("广告法", 9, "最佳", "第（三）项"), Cite("广告法", 57, "罚款", "第（一）项"),
        _k(((FINE,), 8.0), ((WARNING,), 1.0)),
        fine=(5000, 200000), fine_person=(2000, 20000), parties=(0.8, 0.2, 0.0), weight=2.0,
        options={"claim": ADS},
    ),
    Violation(
        "ad-false", "market", "发布虚假广告", "对发布虚假广告的行政处罚",
        ("经查，当事人于{vmonth}通过微信公众号发布的{goods}广告中宣称具有治疗功效，与实际情况不符，广告费用{value}元。",),
        Cite("广告法", 28, "虚假广告"), Cite("广告法", 55, "虚假广告", "第一款"),
        _k(((FINE,), 6.0), ((FINE, CONFISCATE_GAIN), 2.0)),
        fine=(10000, 300000), fine_person=(5000, 50000), parties=(0.9, 0.1, 0.0), weight=1.0,
        options={"goods": ("保健食品", "净水器", "美容仪", "减肥茶", "艾灸贴")},
    ),
    Violation(
        "price-tag", "market", "未按规定明码标价", "对经营者不执行明码标价规定的行政处罚",
        ("经查，当事人于{vdate}在{place}经营场所销售的{count}种商品未按规定明码标价。",),
        Cite("价格法", 13, "明码标价", "第一款"), Cite("价格法", 42, "明码标价"),
        _k(((WARNING,), 5.0), ((FINE,), 3.0), ((FINE, CONFISCATE_GAIN), 1.0)),
        fine=(500, 3000), fine_person=(50, 200), parties=(0.4, 0.55, 0.05), summary=0.7, gain=(20, 800), weight=4.0,
    ),
    Violation(
        "false-promotion", "market", "对商品作虚假或者引人误解的商业宣传", "对经营者进行虚假或者引人误解的商业宣传的行政处罚",
        ("经查，当事人自{vmonth}起在其电商平台店铺对{goods}的销售状况、用户评价作虚假宣传，组织虚假交易{count}笔。",),
        Cite("反不正当竞争法", 8, "虚假", "第一款"), Cite("反不正当竞争法", 20, "罚款", "第一款"),
        _k(((FINE,), 9.0), ((FINE, CONFISCATE_GAIN), 1.0)),
        fine=(20000, 300000), fine_person=(10000, 50000), parties=(0.9, 0.1, 0.0), weight=1.0,
        options={"goods": ("护肤品", "蓝牙耳机", "茶叶", "家具", "奶粉")},
    ),
    Violation(
        "unlicensed-business", "market", "无照经营", "对从事无照经营的行政处罚",
        ("经查，当事人自{vmonth}起在{place}从事{goods}经营活动，未依法办理营业执照，违法所得{gain}元。",),
        Cite("无证无照经营查处办法", 2, "无证无照经营"), Cite("无证无照经营查处办法", 13, "无照经营"),
        _k(((FINE, CONFISCATE_GAIN), 4.0), ((WARNING,), 2.0), ((FINE,), 2.0)),
        fine=(500, 10000), fine_person=(100, 5000), parties=(0.0, 0.0, 1.0), summary=0.3, gain=(100, 8000),
        weight=2.0, options={"goods": ("水果零售", "小食", "手机维修", "服装零售", "废品收购")},
    ),
    Violation(
        "special-equipment", "market", "使用未经定期检验的特种设备", "对特种设备使用单位使用未经检验特种设备的行政处罚",
        ("经查，当事人于{vdate}在{place}使用的{equipment}超过定期检验有效期未申报检验，仍继续使用。",),
        Cite("特种设备安全法", 40, "定期检验"), Cite("特种设备安全法", 84, "罚款", "第（一）项"),
        _k(((FINE,), 9.0), ((FINE, SUSPEND_BUSINESS), 1.0)),
        fine=(30000, 150000), parties=(1.0, 0.0, 0.0), weight=1.0,
        options={"equipment": ("电梯", "叉车", "锅炉", "压力容器", "起重机")},
    ),
    # --- 生态环境 -------------------------------------------------------------------------------
    Violation(
        "air-over-limit", "environment", "超过大气污染物排放标准排放大气污染物", "对超标排放大气污染物的行政处罚",
        ("经查，{vdate}执法人员对当事人位于{place}的生产车间废气排放口进行监测，{pollutant}排放浓度超过排放标准{count}倍。",),
        Cite("大气污染防治法", 18, "排放标准"), Cite("大气污染防治法", 99, "罚款", "第（二）项"),
        _k(((FINE,), 9.0), ((FINE, SUSPEND_BUSINESS), 1.0)),
        fine=(100000, 1000000), parties=(1.0, 0.0, 0.0), weight=2.0,
        options={"pollutant": ("颗粒物", "二氧化硫", "氮氧化物", "非甲烷总烃")},
    ),
    Violation(
        "voc-facility", "environment", "未按照规定使用污染防治设施处理挥发性有机物废气", "对产生含挥发性有机物废气未按规定安装使用污染防治设施的行政处罚",
        ("经查，当事人于{vdate}在{place}进行{process}作业时，未在密闭空间中进行，废气收集处理设施未正常运行。",),
        Cite("大气污染防治法", 45, "挥发性有机物"), Cite("大气污染防治法", 108, "罚款", "第（一）项"),
        _k(((FINE,), 10.0),),
        fine=(20000, 200000), parties=(1.0, 0.0, 0.0), weight=3.0,
        options={"process": ("喷漆", "印刷", "涂装", "调漆", "烘干")},
    ),
    Violation(
        "water-over-limit", "environment", "超过水污染物排放标准排放水污染物", "对超标排放水污染物的行政处罚",
        ("经查，{vdate}执法人员对当事人位于{place}的废水总排放口采样监测，{pollutant}浓度超过排放标准。",),
        Cite("水污染防治法", 10, "排放标准"), Cite("水污染防治法", 83, "罚款", "第（二）项"),
        _k(((FINE,), 9.0), ((FINE, SUSPEND_BUSINESS), 1.0)),
        fine=(100000, 1000000), parties=(1.0, 0.0, 0.0), weight=2.0,
        options={"pollutant": ("化学需氧量", "氨氮", "总磷", "总铜", "总镍")},
    ),
    Violation(
        "water-evasion", "environment", "通过暗管等逃避监管的方式排放水污染物", "对以逃避监管的方式排放水污染物的行政处罚",
        ("经查，当事人于{vdate}在{place}私设暗管，将未经处理的生产废水直接排入市政雨水管网。",),
        Cite("水污染防治法", 39, "暗管"), Cite("水污染防治法", 83, "罚款", "第（三）项"),
        _k(((FINE,), 7.0), ((FINE, SUSPEND_BUSINESS), 3.0)),
        fine=(100000, 1000000), parties=(0.95, 0.05, 0.0), weight=1.0,
    ),
    Violation(
        "eia-missing", "environment", "建设项目未批先建", "对建设项目环境影响评价文件未经批准擅自开工建设的行政处罚",
        ("经查，当事人{process}建设项目环境影响报告表未经审批，于{vmonth}擅自开工建设，项目总投资{value}元。",),
        Cite("环境影响评价法", 25, "不得开工建设"), Cite("环境影响评价法", 31, "擅自开工建设", "第一款"),
        _k(((FINE,), 10.0),),
        fine=(10000, 500000), parties=(1.0, 0.0, 0.0), weight=2.0,
        options={"process": ("五金加工", "塑料制品", "家具制造", "线路板", "食品加工")},
    ),
    Violation(
        "acceptance-missing", "environment", "配套环境保护设施未经验收即投入生产", "对需要配套建设的环境保护设施未经验收即投入生产的行政处罚",
        ("经查，当事人位于{place}的建设项目配套建设的环境保护设施未经验收，于{vmonth}即投入生产。",),
        Cite("建设项目环境保护管理条例", 19, "验收合格"), Cite("建设项目环境保护管理条例", 23, "罚款", "第一款"),
        _k(((FINE,), 10.0),),
        fine=(200000, 1000000), parties=(1.0, 0.0, 0.0), weight=1.0,
    ),
    Violation(
        "hazardous-waste", "environment", "未按规定贮存危险废物", "对未按照国家环境保护标准贮存危险废物的行政处罚",
        ("经查，当事人于{vdate}将生产过程中产生的{waste}约{count}吨露天堆放于{place}厂区，未按照标准设置危险废物贮存场所。",),
        Cite("固体废物污染环境防治法", 20, "防渗漏"), Cite("固体废物污染环境防治法", 112, "罚款", "第一款第（六）项"),
        _k(((FINE,), 9.0), ((FINE, CONFISCATE_GAIN), 1.0)),
        fine=(100000, 500000), parties=(1.0, 0.0, 0.0), weight=1.5,
        options={"waste": ("废机油", "废活性炭", "含铜污泥", "废包装桶", "废切削液")},
    ),
    Violation(
        "no-permit", "environment", "未取得排污许可证排放污染物", "对未取得排污许可证排放污染物的行政处罚",
        ("经查，当事人位于{place}的{process}生产线属于实行排污许可管理的排污单位，至{vdate}仍未取得排污许可证即排放污染物。",),
        Cite("排污许可管理条例", 2, "排污许可证"), Cite("排污许可管理条例", 33, "罚款", "第（一）项"),
        _k(((FINE,), 9.0), ((FINE, SUSPEND_BUSINESS), 1.0)),
        fine=(200000, 1000000), parties=(1.0, 0.0, 0.0), weight=1.0,
        options={"process": ("电镀", "印染", "陶瓷", "造纸", "注塑")},
    ),
    # --- 应急管理 -------------------------------------------------------------------------------
    Violation(
        "safety-training", "safety", "未按照规定对从业人员进行安全生产教育和培训", "对生产经营单位未按规定对从业人员进行安全生产教育和培训的行政处罚",
        ("经查，当事人{count}名从业人员未经安全生产教育和培训即于{vdate}上岗作业。",),
        Cite("安全生产法", 28, "安全生产教育和培训", "第一款"), Cite("安全生产法", 97, "罚款", "第（三）项"),
        _k(((FINE,), 10.0),),
        fine=(5000, 100000), parties=(1.0, 0.0, 0.0), weight=3.0,
    ),
    Violation(
        "hidden-danger", "safety", "未采取措施消除事故隐患", "对生产经营单位未采取措施消除事故隐患的行政处罚",
        ("经查，{vdate}执法人员检查发现当事人位于{place}的{site}存在{hazard}等事故隐患，当事人未采取措施消除。",),
        Cite("安全生产法", 41, "事故隐患", "第二款"), Cite("安全生产法", 102, "罚款"),
        _k(((FINE,), 9.0), ((FINE, SUSPEND_BUSINESS), 1.0)),
        fine=(5000, 50000), parties=(1.0, 0.0, 0.0), weight=3.0,
        options={"site": ("生产车间", "仓库", "配电房", "有限空间"), "hazard": ("安全出口堵塞", "电气线路私拉乱接", "有限空间作业无审批")},
    ),
    Violation(
        "safety-equipment", "safety", "未对安全设备进行经常性维护、保养和定期检测", "对生产经营单位未对安全设备进行经常性维护保养和定期检测的行政处罚",
        ("经查，当事人位于{place}的{equipment}未进行经常性维护、保养和定期检测，{vdate}检查时已失效。",),
        Cite("安全生产法", 36, "定期检测", "第二款"), Cite("安全生产法", 99, "罚款", "第（三）项"),
        _k(((FINE,), 10.0),),
        fine=(5000, 50000), parties=(1.0, 0.0, 0.0), weight=2.0,
        options={"equipment": ("可燃气体报警装置", "防爆电气设备", "通风设施", "消防喷淋系统")},
    ),
    Violation(
        "hazchem-facility", "safety", "危险化学品作业场所未按规定设置安全设施", "对危险化学品单位未按规定设置安全设施设备的行政处罚",
        ("经查，当事人储存{chemical}的仓库于{vdate}检查时未设置相应的{equipment}。",),
        Cite("危险化学品安全管理条例", 20, "安全设施"), Cite("危险化学品安全管理条例", 80, "罚款", "第一款第（二）项"),
        _k(((FINE,), 9.0), ((FINE, SUSPEND_BUSINESS), 1.0)),
        fine=(50000, 100000), parties=(1.0, 0.0, 0.0), weight=1.0,
        options={"chemical": ("甲苯", "乙醇", "液化石油气", "硫酸"), "equipment": ("泄压装置", "防静电设施", "通风装置")},
    ),
    # --- 交通运输 -------------------------------------------------------------------------------
    Violation(
        "unlicensed-transport", "transport", "未取得道路运输经营许可擅自从事道路运输经营", "对未取得道路运输经营许可擅自从事道路运输经营的行政处罚",
        ("经查，{vdate}当事人驾驶车牌号为{plate}的车辆在{place}从事道路{mode}运输经营，未取得道路运输经营许可，违法所得{gain}元。",),
        Cite("道路运输条例", 10, "客运经营", since=(("2023-07-20", 10),)), Cite("道路运输条例", 63, "未取得道路运输经营许可"),
        _k(((FINE,), 6.0), ((FINE, CONFISCATE_GAIN), 4.0)),
        fine=(3000, 30000), fine_person=(3000, 10000), parties=(0.2, 0.2, 0.6), gain=(100, 5000), weight=4.0,
        plate=True, options={"mode": ("旅客", "货物")},
    ),
    Violation(
        "vehicle-maintenance", "transport", "未按规定维护和检测运输车辆", "对客运经营者、货运经营者不按规定维护和检测运输车辆的行政处罚",
        ("经查，当事人车牌号为{plate}的营运车辆未按规定进行维护和检测，{vdate}仍在{place}从事运输经营。",),
        Cite("道路运输条例", 30, "维护和检测"), Cite("道路运输条例", 70, "维护和检测", since=(("2023-07-20", 69),)),
        _k(((FINE,), 10.0),),
        fine=(1000, 5000), parties=(0.8, 0.2, 0.0), weight=2.0, plate=True,
    ),
    Violation(
        "driver-qualification", "transport", "不符合条件的人员驾驶道路运输经营车辆", "对不符合条件的人员驾驶道路运输经营车辆的行政处罚",
        ("经查，{vdate}当事人驾驶车牌号为{plate}的营运车辆在{place}从事运输经营，未取得相应从业资格证件。",),
        Cite("道路运输条例", 9, "驾驶人员"), Cite("道路运输条例", 64, "驾驶道路运输经营车辆"),
        _k(((FINE,), 10.0),),
        fine=(200, 2000), fine_person=(200, 2000), parties=(0.0, 0.1, 0.9), weight=2.0, plate=True,
    ),
    Violation(
        "no-qualification-card", "transport", "道路运输从业人员未随身携带从业资格证件", "对道路运输从业人员未随身携带从业资格证件的行政处罚",
        ("经查，{vdate}当事人驾驶车牌号为{plate}的营运车辆在{place}从事运输时未随身携带从业资格证件。",),
        Cite("广东省道路运输条例", 44, "从业资格证件"), Cite("广东省道路运输条例", 69, "从业资格证件"),
        _k(((WARNING,), 5.0), ((FINE,), 5.0)),
        fine=(200, 200), fine_person=(200, 200), parties=(0.0, 0.0, 1.0), summary=0.9, weight=2.0, plate=True,
    ),
    # --- 城市管理和综合执法 -------------------------------------------------------------------------
    Violation(
        "illegal-building", "urban", "未取得建设工程规划许可证进行建设", "对未取得建设工程规划许可证进行建设的行政处罚",
        ("经查，当事人于{vmonth}未取得建设工程规划许可证，在{place}擅自建设{structure}，建筑面积约{count}0平方米。",),
        Cite("城乡规划法", 40, "建设工程规划许可证", "第一款"), Cite("城乡规划法", 64, "建设工程规划许可证"),
        _k(((FINE,), 8.0), ((FINE, CONFISCATE_PROPERTY), 2.0)),
        fine=(10000, 300000), fine_person=(5000, 100000), parties=(0.5, 0.1, 0.4), weight=3.0,
        options={"structure": ("钢结构厂房", "砖混结构房屋", "铁皮棚", "楼顶加建房屋")},
    ),
    Violation(
        "street-stacking", "urban", "擅自在街道两侧和公共场地堆放物料", "对擅自在街道两侧和公共场地堆放物料、搭建建筑物构筑物的行政处罚",
        ("经查，当事人于{vdate}未经批准在{place}门前人行道堆放{goods}，影响市容。",),
        Cite("城市市容和环境卫生管理条例", 14, "堆放物料"), Cite("城市市容和环境卫生管理条例", 36, "堆放物料", "第（二）项"),
        _k(((FINE,), 6.0), ((WARNING,), 4.0)),
        fine=(200, 3000), fine_person=(50, 200), parties=(0.3, 0.6, 0.1), summary=0.8, weight=5.0,
        options={"goods": ("建筑材料", "纸箱杂物", "餐桌椅", "货物")},
    ),
    Violation(
        "littering", "urban", "不按规定倾倒垃圾", "对不按规定的时间、地点、方式倾倒垃圾的行政处罚",
        ("经查，当事人于{vdate}在{place}不按规定的时间、地点倾倒生活垃圾。",),
        Cite("城市市容和环境卫生管理条例", 34, "倾倒垃圾", "第（四）项"), Cite("城市市容和环境卫生管理条例", 34, "罚款", "第（四）项"),
        _k(((WARNING,), 5.0), ((FINE,), 5.0)),
        fine=(200, 2000), fine_person=(50, 200), parties=(0.2, 0.4, 0.4), summary=0.9, weight=5.0,
    ),
    Violation(
        "outdoor-ad", "urban", "擅自设置大型户外广告", "对擅自设置大型户外广告影响市容的行政处罚",
        ("经查，当事人于{vmonth}未经批准在{place}外墙擅自设置大型户外广告牌，面积约{count}0平方米。",),
        Cite("城市市容和环境卫生管理条例", 11, "户外广告"), Cite("城市市容和环境卫生管理条例", 36, "户外广告", "第（一）项"),
        _k(((FINE,), 8.0), ((WARNING,), 2.0)),
        fine=(1000, 10000), fine_person=(200, 2000), parties=(0.6, 0.4, 0.0), summary=0.2, weight=2.0,
    ),
    Violation(
        "sewage-permit", "urban", "未取得排水许可证向城镇排水设施排放污水", "对排水户未取得污水排入排水管网许可证向城镇排水设施排放污水的行政处罚",
        ("经查，当事人位于{place}的餐饮店于{vdate}未取得污水排入排水管网许可证向城镇排水设施排放污水。",),
        Cite("城镇排水与污水处理条例", 21, "许可证"), Cite("城镇排水与污水处理条例", 50, "排水管网许可证", "第一款"),
        _k(((FINE,), 9.0), ((WARNING,), 1.0)),
        fine=(1000, 50000), fine_person=(500, 5000), parties=(0.5, 0.45, 0.05), weight=2.0,
    ),
    Violation(
        "construction-waste", "urban", "将工程渣土与其他建筑垃圾混合运输", "对将工程渣土、工程泥浆与其他建筑垃圾混合运输的行政处罚",
        ("经查，{vdate}当事人车牌号为{plate}的运输车辆在{place}将工程渣土与装修垃圾混合运输。",),
        Cite("广东省建筑垃圾管理条例", 11, "工程渣土"), Cite("广东省建筑垃圾管理条例", 22, "混合运输"),
        _k(((FINE,), 10.0),),
        fine=(1000, 10000), fine_person=(500, 5000), parties=(0.8, 0.1, 0.1), weight=1.5, plate=True,
    ),
    # --- 住房和城乡建设 -----------------------------------------------------------------------------
    Violation(
        "no-construction-permit", "housing", "未取得施工许可证擅自施工", "对建设单位未取得施工许可证擅自施工的行政处罚",
        ("经查，当事人{project}项目未取得施工许可证，于{vmonth}擅自开工建设，工程合同价款{value}元。",),
        Cite("建筑法", 7, "施工许可证", "第一款"), Cite("建设工程质量管理条例", 57, "施工许可证"),
        _k(((FINE,), 10.0),),
        fine=(20000, 500000), parties=(1.0, 0.0, 0.0), weight=2.0,
        options={"project": ("厂房", "商住楼", "仓库", "办公楼", "学校教学楼")},
    ),
    Violation(
        "material-testing", "housing", "施工单位未对建筑材料进行检验", "对施工单位未对建筑材料、建筑构配件、设备和商品混凝土进行检验的行政处罚",
        ("经查，当事人承建的{project}项目于{vmonth}使用的{goods}未经进场检验即用于工程施工。",),
        Cite("建设工程质量管理条例", 29, "检验"), Cite("建设工程质量管理条例", 65, "罚款"),
        _k(((FINE,), 10.0),),
        fine=(100000, 200000), parties=(1.0, 0.0, 0.0), weight=1.5,
        options={"project": ("住宅小区", "市政道路", "厂房"), "goods": ("钢筋", "商品混凝土", "防水卷材", "水泥")},
    ),
    Violation(
        "property-repair-fund", "housing", "物业服务企业擅自改变物业管理用房用途", "对物业服务企业擅自改变物业管理用房用途的行政处罚",
        ("经查，当事人未经业主大会同意，自{vmonth}起将{place}小区物业管理用房出租用于经营。",),
        Cite("物业管理条例", 37, "物业管理用房"), Cite("物业管理条例", 62, "物业管理用房"),
        _k(((FINE, WARNING), 4.0), ((FINE,), 6.0)),
        fine=(10000, 100000), parties=(1.0, 0.0, 0.0), weight=1.0,
    ),
    # --- 自然资源 -------------------------------------------------------------------------------
    Violation(
        "illegal-land", "resources", "未经批准非法占用土地", "对未经批准非法占用土地的行政处罚",
        ("经查，当事人于{vmonth}未经批准占用{place}集体土地{count}00平方米建设{structure}。",),
        Cite("土地管理法", 44, "农用地转用", "第一款"), Cite("土地管理法", 77, "非法占用土地", "第一款"),
        _k(((FINE, CONFISCATE_PROPERTY), 5.0), ((FINE,), 5.0)),
        fine=(10000, 300000), fine_person=(5000, 100000), parties=(0.5, 0.1, 0.4), weight=3.0,
        options={"structure": ("厂房", "仓库", "住宅", "停车场")},
    ),
    Violation(
        "land-transfer", "resources", "非法转让土地", "对买卖或者以其他形式非法转让土地的行政处罚",
        ("经查，当事人于{vmonth}将位于{place}的土地{count}00平方米以租代征方式非法转让给他人使用，违法所得{gain}元。",),
        Cite("土地管理法", 2, "转让土地"), Cite("土地管理法", 74, "非法转让土地"),
        _k(((FINE, CONFISCATE_GAIN), 10.0),),
        fine=(10000, 200000), fine_person=(5000, 50000), parties=(0.6, 0.0, 0.4), gain=(10000, 300000), weight=1.0,
    ),
    # --- 卫生健康 -------------------------------------------------------------------------------
    Violation(
        "no-medical-license", "health", "未取得医疗机构执业许可证擅自执业", "对未取得医疗机构执业许可证擅自执业的行政处罚",
        ("经查，当事人于{vdate}在{place}未取得《医疗机构执业许可证》擅自开展{service}诊疗活动，违法所得{gain}元。",),
        Cite("医疗机构管理条例", 24, "医疗机构执业许可证"), Cite("医疗机构管理条例", 44, "医疗机构执业许可证"),
        _k(((FINE, CONFISCATE_GAIN, CONFISCATE_PROPERTY), 7.0), ((FINE, CONFISCATE_PROPERTY), 3.0)),
        fine=(3000, 10000), fine_person=(2000, 10000), parties=(0.3, 0.2, 0.5), gain=(200, 20000), weight=2.0,
        options={"service": ("口腔", "医疗美容", "输液", "针灸推拿", "中医")},
    ),
    Violation(
        "public-place-health", "health", "公共场所从业人员未获得健康合格证从事直接为顾客服务", "对公共场所从业人员未获得健康合格证而从事直接为顾客服务的行政处罚",
        ("经查，当事人经营的{venue}于{vdate}有{count}名从业人员未获得健康合格证而从事直接为顾客服务的工作。",),
        Cite("公共场所卫生管理条例", 7, "健康合格证"), Cite("公共场所卫生管理条例", 14, "健康合格证", "第一款第（二）项"),
        _k(((WARNING,), 5.0), ((FINE,), 4.0), ((WARNING, FINE), 1.0)),
        fine=(500, 3000), fine_person=(100, 200), parties=(0.5, 0.5, 0.0), summary=0.6, weight=3.0,
        options={"venue": ("美容美发店", "足浴店", "游泳馆", "宾馆", "沐足中心")},
    ),
    Violation(
        "unqualified-doctor", "health", "非医师行医", "对非医师行医的行政处罚",
        ("经查，当事人未取得医师资格及执业证书，于{vdate}在{place}为患者提供诊疗服务，违法所得{gain}元。",),
        Cite("医师法", 13, "医师执业证书"), Cite("医师法", 59, "非医师行医"),
        _k(((FINE, CONFISCATE_GAIN, CONFISCATE_PROPERTY), 10.0),),
        fine_person=(10000, 100000), fine=(10000, 100000), parties=(0.0, 0.0, 1.0), gain=(300, 10000), weight=1.0,
    ),
    # --- 文化广电旅游 ---------------------------------------------------------------------------
    Violation(
        "internet-cafe-minor", "culture", "互联网上网服务营业场所接纳未成年人", "对互联网上网服务营业场所经营单位接纳未成年人进入营业场所的行政处罚",
        ("经查，当事人经营的{shop}于{vdate}接纳{count}名未成年人进入营业场所上网。",),
        Cite("互联网上网服务营业场所管理条例", 21, "未成年人", "第一款"),
        Cite("互联网上网服务营业场所管理条例", 31, "罚款", "第（二）项"),
        _k(((WARNING, FINE), 6.0), ((WARNING,), 3.0), ((FINE, SUSPEND_BUSINESS), 1.0)),
        fine=(1000, 15000), parties=(0.5, 0.5, 0.0), weight=3.0, options={"shop": ("网吧", "电竞馆", "网咖")},
    ),
    Violation(
        "no-travel-license", "culture", "未经许可经营旅行社业务", "对未经许可经营旅行社业务的行政处罚",
        ("经查，当事人未取得旅行社业务经营许可，于{vmonth}组织{count}0名游客赴{dest}旅游，违法所得{gain}元。",),
        Cite("旅游法", 28, "旅行社"), Cite("旅游法", 95, "未经许可经营旅行社业务", "第一款"),
        _k(((FINE, CONFISCATE_GAIN), 10.0),),
        fine=(10000, 100000), fine_person=(10000, 50000), parties=(0.6, 0.1, 0.3), gain=(1000, 30000), weight=1.0,
        options={"dest": ("清远", "阳江海陵岛", "韶关丹霞山", "桂林", "湛江")},
    ),
    Violation(
        "tour-guide", "culture", "未取得导游证从事导游活动", "对未取得导游证从事导游活动的行政处罚",
        ("经查，当事人未取得导游证，于{vdate}为{count}0名游客提供导游服务，违法所得{gain}元。",),
        Cite("旅游法", 37, "导游证"), Cite("旅游法", 102, "导游证", "第一款"),
        _k(((FINE, CONFISCATE_GAIN), 8.0), ((FINE,), 2.0)),
        fine=(1000, 10000), fine_person=(1000, 10000), parties=(0.0, 0.0, 1.0), gain=(100, 3000), weight=1.0,
    ),
    # --- 公安 -----------------------------------------------------------------------------------
    Violation(
        "hotel-registration", "police", "旅馆业工作人员对住宿旅客不按规定登记", "对旅馆业工作人员不按规定登记住宿旅客信息的行政处罚",
        ("经查，{vdate}当事人在{hotel}前台值班期间，对{count}名住宿旅客未按规定登记姓名、身份证件种类和号码。",),
        Cite("旅馆业治安管理办法", 6, "登记", "第一款"), Cite("治安管理处罚法", 56, "登记", "第一款"),
        _k(((FINE,), 10.0),),
        fine=(200, 500), fine_person=(200, 500), parties=(0.0, 0.0, 1.0), weight=3.0,
        options={"hotel": ("某宾馆", "某酒店", "某旅馆", "某公寓式酒店")},
    ),
    Violation(
        "traffic-speeding", "police", "机动车驾驶人违反道路通行规定", "对机动车驾驶人违反道路通行规定的行政处罚",
        ("{vdate}，当事人驾驶车牌号为{plate}的小型汽车在{place}{act}。",),
        Cite("道路交通安全法", 38, "交通信号"), Cite("道路交通安全法", 90, "警告"),
        _k(((FINE,), 8.0), ((WARNING,), 2.0)),
        fine=(50, 200), fine_person=(50, 200), parties=(0.0, 0.0, 1.0), summary=0.98, weight=12.0, plate=True,
        options={"act": ("违反交通信号灯通行", "不按导向车道行驶", "违反禁止标线指示", "机动车违反规定停放")},
    ),
    Violation(
        "traffic-unlicensed", "police", "未取得机动车驾驶证驾驶机动车", "对未取得机动车驾驶证驾驶机动车的行政处罚",
        ("{vdate}，当事人在未取得机动车驾驶证的情况下驾驶车牌号为{plate}的车辆在{place}行驶。",),
        Cite("道路交通安全法", 19, "驾驶证", "第一款"), Cite("道路交通安全法", 99, "罚款", "第一款第（一）项"),
        _k(((FINE,), 7.0), ((FINE, DETENTION), 3.0)),
        fine_person=(200, 2000), fine=(200, 2000), parties=(0.0, 0.0, 1.0), weight=2.0, plate=True,
    ),
    # --- 农业农村 -------------------------------------------------------------------------------
    Violation(
        "pesticide-record", "agriculture", "农药经营者未按规定建立采购、销售台账", "对农药经营者未按规定建立采购销售台账的行政处罚",
        ("经查，当事人在{place}经营农药，至{vdate}未按规定建立采购、销售台账。",),
        Cite("农药管理条例", 27, "台账"), Cite("农药管理条例", 58, "台账", "第一款第（一）项"),
        _k(((WARNING,), 4.0), ((FINE,), 6.0)),
        fine=(2000, 20000), fine_person=(2000, 5000), parties=(0.3, 0.7, 0.0), weight=2.0,
    ),
    Violation(
        "animal-quarantine", "agriculture", "经营的动物产品未附有检疫证明", "对经营、运输的动物产品未附有检疫证明检疫标志的行政处罚",
        ("经查，当事人于{vdate}在{place}经营的{goods}{count}0公斤未附有检疫证明、检疫标志。",),
        Cite("动物防疫法", 51, "检疫证明"), Cite("动物防疫法", 100, "检疫证明", "第一款"),
        _k(((FINE,), 8.0), ((FINE, CONFISCATE_GAIN), 2.0)),
        fine=(1000, 20000), fine_person=(500, 5000), parties=(0.2, 0.6, 0.2), weight=2.0,
        options={"goods": ("猪肉", "牛肉", "鸡肉", "冻品")},
    ),
    # --- 水务 -----------------------------------------------------------------------------------
    Violation(
        "river-obstruction", "water", "在河道管理范围内建设妨碍行洪的建筑物", "对在河道管理范围内建设妨碍行洪的建筑物、构筑物的行政处罚",
        ("经查，当事人于{vmonth}在{river}河道管理范围内擅自建设{structure}，妨碍行洪。",),
        Cite("水法", 37, "妨碍行洪", "第二款"), Cite("水法", 65, "妨碍行洪", "第一款"),
        _k(((FINE,), 10.0),),
        fine=(10000, 50000), fine_person=(10000, 50000), parties=(0.6, 0.1, 0.3), weight=1.0,
        options={"river": ("流溪河", "东江", "北江", "西江", "韩江", "潭江"), "structure": ("砂石堆场", "临时码头", "铁皮棚")},
    ),
    Violation(
        "water-withdrawal", "water", "未经批准擅自取水", "对未经批准擅自取水的行政处罚",
        ("经查，当事人于{vmonth}起在{place}未取得取水许可擅自抽取地下水用于生产。",),
        Cite("水法", 48, "取水许可", "第一款"), Cite("水法", 69, "擅自取水", "第（一）项"),
        _k(((FINE,), 10.0),),
        fine=(20000, 100000), parties=(1.0, 0.0, 0.0), weight=1.0,
    ),
)


def by_field() -> dict[str, tuple[Violation, ...]]:
    """The violations of each enforcement field, in catalogue order."""
    grouped: dict[str, list[Violation]] = {}
    for violation in VIOLATIONS:
        grouped.setdefault(violation.field, []).append(violation)
    return {name: tuple(items) for name, items in grouped.items()}
