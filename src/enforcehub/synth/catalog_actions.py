"""What agencies license, seize, inspect, levy and requisition: the non-penalty action catalogue.

As in `catalog`, every citation is a real article of a registry instrument and is checked by the
tests (article present in every version in force, text contains the keyword).
"""

from __future__ import annotations

from dataclasses import dataclass

from enforcehub.synth.catalog import Cite


@dataclass(frozen=True)
class LicenseKind:
    """A licence an agency of `field` grants."""

    key: str
    field: str
    matter: str  # 事项名称
    category: str  # 许可类别 label
    certificate: str  # 许可证书名称 ('' when no certificate is issued)
    number: str  # licence-number template: {region} {year} {seq} {uscc}
    content: str  # 许可内容 template: {name} {place} {scope}
    basis: Cite
    years: int  # validity in years, 0 = 长期 (2099-12-31)
    parties: tuple[float, float, float] = (0.6, 0.35, 0.05)
    scope: tuple[str, ...] = ("",)
    weight: float = 1.0


LICENSES: tuple[LicenseKind, ...] = (
    LicenseKind(
        "food-business",
        "market",
        "食品经营许可",
        "普通",
        "食品经营许可证",
        "JY1{region}{seq7}",
        "准予{name}在{place}从事食品经营活动，经营项目：{scope}。",
        Cite("食品安全法", 35, "许可"),
        5,
        (0.5, 0.5, 0.0),
        ("预包装食品销售（含冷藏冷冻食品）", "热食类食品制售", "散装食品销售", "糕点类食品制售"),
        5.0,
    ),
    LicenseKind(
        "special-equipment",
        "market",
        "特种设备使用登记",
        "登记",
        "特种设备使用登记证",
        "梯11{region2}{seq5}({year2})",
        "准予{name}位于{place}的{scope}办理使用登记。",
        Cite("特种设备安全法", 33, "登记"),
        0,
        (1.0, 0.0, 0.0),
        ("乘客电梯", "叉车", "承压蒸汽锅炉", "储气罐"),
        2.0,
    ),
    LicenseKind(
        "pollution-permit",
        "environment",
        "排污许可证核发",
        "普通",
        "排污许可证",
        "{uscc}001{letter}",
        "准予{name}按照排污许可证载明的要求排放污染物，行业类别：{scope}。",
        Cite("排污许可管理条例", 2, "排污许可证"),
        5,
        (1.0, 0.0, 0.0),
        ("金属表面处理及热处理加工", "塑料制品业", "家具制造业", "印刷"),
        2.0,
    ),
    LicenseKind(
        "eia-approval",
        "environment",
        "建设项目环境影响评价文件审批",
        "核准",
        "",
        "",
        "同意{name}{scope}建设项目环境影响报告表的结论，项目地址：{place}。",
        Cite("环境影响评价法", 22, "审批"),
        5,
        (1.0, 0.0, 0.0),
        ("年产五金配件300吨", "新建厂房及生产线", "扩建涂装车间", "食品加工"),
        1.0,
    ),
    LicenseKind(
        "hazchem",
        "safety",
        "危险化学品经营许可",
        "普通",
        "危险化学品经营许可证",
        "粤{city_abbr}安经〔{year}〕{seq4}",
        "准予{name}经营危险化学品，许可范围：{scope}（不带储存设施）。",
        Cite("危险化学品安全管理条例", 33, "经营许可"),
        3,
        (1.0, 0.0, 0.0),
        ("易燃液体：乙醇、丙酮", "压缩气体和液化气体：氧、氮、氩", "腐蚀品：硫酸、盐酸"),
        1.5,
    ),
    LicenseKind(
        "fireworks",
        "safety",
        "烟花爆竹经营（零售）许可",
        "普通",
        "烟花爆竹经营（零售）许可证",
        "粤{city_abbr}烟零〔{year}〕{seq4}",
        "准予{name}在{place}零售烟花爆竹。",
        Cite("烟花爆竹安全管理条例", 19, "烟花爆竹"),
        1,
        (0.3, 0.7, 0.0),
        ("",),
        0.7,
    ),
    LicenseKind(
        "road-transport",
        "transport",
        "道路货物运输经营许可",
        "普通",
        "道路运输经营许可证",
        "粤交运管许可{city_abbr}字{region}{seq6}",
        "准予{name}从事道路普通货物运输经营。",
        Cite("道路运输条例", 24, "货运经营"),
        4,
        (0.6, 0.3, 0.1),
        ("",),
        3.0,
    ),
    LicenseKind(
        "outdoor-ad",
        "urban",
        "户外广告设施设置审批",
        "普通",
        "户外广告设置许可证",
        "{city_abbr}城管广字〔{year}〕{seq4}号",
        "准予{name}在{place}设置户外广告设施，规格：{scope}。",
        Cite("城市市容和环境卫生管理条例", 11, "户外广告"),
        2,
        (0.6, 0.4, 0.0),
        ("6米×3米", "10米×2米", "4米×1.5米"),
        2.0,
    ),
    LicenseKind(
        "road-occupation",
        "urban",
        "临时占用城市道路许可",
        "普通",
        "",
        "",
        "准予{name}临时占用{place}路段用于{scope}。",
        Cite("城市道路管理条例", 31, "临时占用城市道路"),
        1,
        (0.7, 0.3, 0.0),
        ("施工围蔽", "临时堆放建筑材料", "设置临时摊点"),
        1.5,
    ),
    LicenseKind(
        "construction-permit",
        "housing",
        "建筑工程施工许可",
        "普通",
        "建筑工程施工许可证",
        "{region}{year}{mmdd}{seq4}01",
        "准予{name}{scope}工程施工，建设地址：{place}。",
        Cite("建筑法", 7, "施工许可证"),
        3,
        (1.0, 0.0, 0.0),
        ("商住楼", "厂房", "学校教学楼", "办公楼", "保障性住房"),
        2.0,
    ),
    LicenseKind(
        "presale",
        "housing",
        "商品房预售许可",
        "普通",
        "商品房预售许可证",
        "{city_abbr}房预字第{year}{seq4}号",
        "准予{name}预售{scope}，预售面积以许可证载明为准。",
        Cite("城市房地产管理法", 45, "预售"),
        0,
        (1.0, 0.0, 0.0),
        ("1栋至3栋商品住宅", "4号楼商业及住宅", "一期住宅"),
        1.0,
    ),
    LicenseKind(
        "planning-permit",
        "resources",
        "建设工程规划许可",
        "普通",
        "建设工程规划许可证",
        "建字第{region}{year}{seq5}号",
        "准予{name}在{place}建设{scope}。",
        Cite("城乡规划法", 40, "建设工程规划许可证"),
        2,
        (1.0, 0.0, 0.0),
        ("工业厂房", "商业综合体", "住宅", "仓储用房"),
        2.0,
    ),
    LicenseKind(
        "medical-institution",
        "health",
        "医疗机构执业登记",
        "登记",
        "医疗机构执业许可证",
        "PDY{seq5}{region}{letter2}",
        "准予{name}执业，诊疗科目：{scope}。",
        Cite("医疗机构管理条例", 15, "医疗机构执业许可证"),
        5,
        (0.9, 0.1, 0.0),
        ("口腔科", "内科；外科", "中医科", "医学检验科"),
        1.5,
    ),
    LicenseKind(
        "public-place",
        "health",
        "公共场所卫生许可",
        "普通",
        "卫生许可证",
        "粤卫公证字〔{year}〕第{region}{seq5}号",
        "准予{name}在{place}经营{scope}。",
        Cite("公共场所卫生管理条例", 8, "卫生许可证"),
        4,
        (0.5, 0.5, 0.0),
        ("住宿业", "美容美发场所", "游泳场所", "沐浴场所"),
        2.0,
    ),
    LicenseKind(
        "entertainment",
        "culture",
        "娱乐场所经营许可",
        "普通",
        "娱乐经营许可证",
        "{region}{seq6}",
        "准予{name}在{place}从事{scope}经营。",
        Cite("娱乐场所管理条例", 9, "娱乐场所"),
        2,
        (0.7, 0.3, 0.0),
        ("歌舞娱乐场所", "游艺娱乐场所"),
        1.0,
    ),
    LicenseKind(
        "travel-agency",
        "culture",
        "旅行社业务经营许可",
        "普通",
        "旅行社业务经营许可证",
        "L-GD-{seq5}",
        "准予{name}经营国内旅游业务和入境旅游业务。",
        Cite("旅游法", 28, "旅行社"),
        0,
        (1.0, 0.0, 0.0),
        ("",),
        0.8,
    ),
    LicenseKind(
        "hotel",
        "police",
        "旅馆业特种行业许可",
        "普通",
        "特种行业许可证",
        "{city_abbr}公特旅字第{region}{seq5}号",
        "准予{name}在{place}经营旅馆业，客房{count}间。",
        Cite("旅馆业治安管理办法", 4, "审查批准"),
        0,
        (0.6, 0.4, 0.0),
        ("",),
        1.5,
    ),
    LicenseKind(
        "pesticide",
        "agriculture",
        "农药经营许可",
        "普通",
        "农药经营许可证",
        "农药经许（粤）{region}{seq5}",
        "准予{name}在{place}经营农药（限制使用农药除外）。",
        Cite("农药管理条例", 24, "农药经营许可"),
        5,
        (0.4, 0.6, 0.0),
        ("",),
        1.0,
    ),
    LicenseKind(
        "water-withdrawal",
        "water",
        "取水许可",
        "特许",
        "取水许可证",
        "取水（粤{city_abbr}）字〔{year}〕第{seq5}号",
        "准予{name}在{place}取水，取水用途：{scope}。",
        Cite("水法", 48, "取水许可"),
        5,
        (1.0, 0.0, 0.0),
        ("工业用水", "农业灌溉", "生活用水"),
        0.8,
    ),
)


@dataclass(frozen=True)
class CoercionKind:
    """A coercive measure (01) or an enforcement (02) an agency of `field` takes."""

    key: str
    field: str
    matter: str
    coercion: str  # 行政强制措施 / 行政强制执行
    measure: str  # coercive_measure label ('' for an enforcement)
    mode: str  # enforcement_mode label ('' for a measure)
    basis: Cite
    property: tuple[str, ...] = ()  # 财物清单 items for 查封/扣押
    weight: float = 1.0
    parties: tuple[float, float, float] = (0.6, 0.35, 0.05)


MEASURE, EXECUTION = "行政强制措施", "行政强制执行"
COERCIONS: tuple[CoercionKind, ...] = (
    CoercionKind(
        "seize-food",
        "market",
        "对涉嫌不符合食品安全标准的食品的查封、扣押",
        MEASURE,
        "扣押财物",
        "",
        Cite("食品安全法", 110, "查封、扣押", "第（四）项"),
        ("过期预包装食品", "来源不明的冻品", "无标签散装食品", "不合格食用油"),
        4.0,
        (0.4, 0.6, 0.0),
    ),
    CoercionKind(
        "seal-products",
        "market",
        "对涉嫌不符合保障人体健康和人身、财产安全的国家标准的产品的查封、扣押",
        MEASURE,
        "查封场所、设施或者财物",
        "",
        Cite("产品质量法", 18, "查封或者扣押", "第一款第（四）项"),
        ("电线电缆", "电动自行车", "不合格插座", "假冒注册商标的服装"),
        2.0,
    ),
    CoercionKind(
        "seal-polluter",
        "environment",
        "对违法排放污染物造成或者可能造成严重污染的设施、设备的查封、扣押",
        MEASURE,
        "查封场所、设施或者财物",
        "",
        Cite("环境保护法", 25, "查封、扣押"),
        ("喷漆房及配套风机", "电镀生产线", "废水排放泵", "燃煤锅炉"),
        3.0,
        (1.0, 0.0, 0.0),
    ),
    CoercionKind(
        "seal-unsafe",
        "safety",
        "对不符合保障安全生产的国家标准或者行业标准的设施、设备、器材的查封、扣押",
        MEASURE,
        "查封场所、设施或者财物",
        "",
        Cite("安全生产法", 65, "查封或者扣押", "第一款第（四）项"),
        ("违规储存的危险化学品", "不合格压力管道", "违规使用的焊接设备"),
        2.0,
        (1.0, 0.0, 0.0),
    ),
    CoercionKind(
        "detain-vehicle",
        "police",
        "对未悬挂号牌或者未携带行驶证的机动车的扣留",
        MEASURE,
        "扣押财物",
        "",
        Cite("道路交通安全法", 95, "扣留机动车", "第一款"),
        ("小型轿车一辆", "二轮摩托车一辆", "轻型货车一辆"),
        3.0,
        (0.0, 0.1, 0.9),
    ),
    CoercionKind(
        "demolish",
        "urban",
        "对违法建设的强制拆除",
        EXECUTION,
        "",
        "排除妨碍、恢复原状",
        Cite("城乡规划法", 68, "强制拆除"),
        (),
        3.0,
        (0.4, 0.1, 0.5),
    ),
    CoercionKind(
        "late-fine",
        "market",
        "加处罚款",
        EXECUTION,
        "",
        "加处罚款或者滞纳金",
        Cite("行政处罚法", 72, "加处罚款", "第一款第（一）项"),
        (),
        2.0,
    ),
    CoercionKind(
        "court-enforcement",
        "environment",
        "申请人民法院强制执行",
        EXECUTION,
        "",
        "申请人民法院强制执行",
        Cite("行政强制法", 53, "申请人民法院强制执行"),
        (),
        1.0,
        (1.0, 0.0, 0.0),
    ),
    CoercionKind(
        "substitute", "urban", "代履行", EXECUTION, "", "代履行", Cite("行政强制法", 50, "代履行"), (), 1.0
    ),
)


@dataclass(frozen=True)
class InspectionKind:
    """A routine inspection an agency of `field` carries out."""

    key: str
    field: str
    name: str  # 检查行为名称 / 监管事项名称
    basis: Cite
    target: str  # target_type label for organisations
    weight: float = 1.0


INSPECTIONS: tuple[InspectionKind, ...] = (
    InspectionKind(
        "food", "market", "食品经营者日常监督检查", Cite("食品安全法", 110, "监督检查"), "企业", 5.0
    ),
    InspectionKind(
        "equipment",
        "market",
        "特种设备使用单位监督检查",
        Cite("特种设备安全法", 61, "监督检查"),
        "设施设备",
        1.5,
    ),
    InspectionKind("product", "market", "产品质量监督抽查", Cite("产品质量法", 15, "监督抽查"), "产品", 1.5),
    InspectionKind(
        "pollution", "environment", "排污单位现场检查", Cite("环境保护法", 24, "现场检查"), "企业", 3.0
    ),
    InspectionKind(
        "safety", "safety", "工贸企业安全生产执法检查", Cite("安全生产法", 65, "检查"), "企业", 3.0
    ),
    InspectionKind(
        "transport", "transport", "道路运输经营者监督检查", Cite("道路运输条例", 58, "监督检查"), "企业", 2.0
    ),
    InspectionKind("urban", "urban", "市容环境卫生巡查", Cite("城乡规划法", 53, "监督检查"), "场所", 3.0),
    InspectionKind(
        "site",
        "housing",
        "建筑施工安全生产和工程质量检查",
        Cite("建设工程质量管理条例", 48, "监督检查"),
        "工程项目",
        2.0,
    ),
    InspectionKind("land", "resources", "土地利用动态巡查", Cite("土地管理法", 67, "监督检查"), "场所", 1.5),
    InspectionKind(
        "medical",
        "health",
        "医疗机构依法执业监督检查",
        Cite("医疗机构管理条例", 40, "监督管理职权"),
        "企业",
        1.5,
    ),
    InspectionKind(
        "culture",
        "culture",
        "文化市场经营场所检查",
        Cite("互联网上网服务营业场所管理条例", 4, "监督管理"),
        "场所",
        1.5,
    ),
    InspectionKind(
        "hotel", "police", "旅馆业治安检查", Cite("旅馆业治安管理办法", 14, "治安管理"), "场所", 2.0
    ),
    InspectionKind(
        "farm", "agriculture", "农资经营门店检查", Cite("农药管理条例", 41, "现场检查"), "个体工商户", 1.0
    ),
    InspectionKind("river", "water", "河道采砂及涉河建设巡查", Cite("水法", 60, "监督检查"), "场所", 0.8),
)


@dataclass(frozen=True)
class LevyKind:
    """A levy (行政征收) an agency of `field` imposes."""

    key: str
    field: str
    item: str  # 征收项目
    levy_type: str  # levy_type label
    basis: Cite
    amount: tuple[int, int]
    weight: float = 1.0
    property: str = ""  # 被征收财产情况 template for 土地/房屋 征收
    parties: tuple[float, float, float] = (0.8, 0.2, 0.0)


LEVIES: tuple[LevyKind, ...] = (
    LevyKind(
        "water-fee", "water", "水资源费", "行政事业性收费", Cite("水法", 48, "水资源费"), (2000, 300000), 3.0
    ),
    LevyKind(
        "sewage-fee",
        "urban",
        "污水处理费",
        "行政事业性收费",
        Cite("城镇排水与污水处理条例", 32, "污水处理费"),
        (500, 80000),
        3.0,
        parties=(0.6, 0.4, 0.0),
    ),
    LevyKind(
        "reclamation-fee",
        "resources",
        "土地复垦费",
        "行政事业性收费",
        Cite("土地管理法", 43, "土地复垦费"),
        (20000, 800000),
        1.0,
    ),
    LevyKind(
        "land-expropriation",
        "resources",
        "集体土地征收",
        "土地征收",
        Cite("土地管理法", 47, "征收土地"),
        (0, 0),
        1.0,
        "位于{place}的集体土地{count}00平方米（含地上附着物及青苗）",
        (0.3, 0.0, 0.7),
    ),
    LevyKind(
        "house-expropriation",
        "housing",
        "国有土地上房屋征收",
        "房屋征收",
        Cite("国有土地上房屋征收与补偿条例", 8, "征收"),
        (0, 0),
        1.0,
        "位于{place}的房屋一处，建筑面积{count}0平方米",
        (0.2, 0.0, 0.8),
    ),
    LevyKind(
        "air-defence-fee",
        "housing",
        "防空地下室易地建设费",
        "政府性基金",
        Cite("人民防空法", 22, "防空"),
        (50000, 2000000),
        1.0,
    ),
)


@dataclass(frozen=True)
class RequisitionKind:
    """A requisition (行政征用) an agency of `field` makes in an emergency."""

    key: str
    field: str
    reason: str  # requisition_reason label
    kind: str  # requisition_kind label
    basis: Cite
    property: tuple[str, ...]
    weight: float = 1.0


REQUISITIONS: tuple[RequisitionKind, ...] = (
    RequisitionKind(
        "flood-machinery",
        "water",
        "抢险救灾",
        "设备设施",
        Cite("防洪法", 45, "调用物资"),
        ("挖掘机2台", "抽水泵5台", "冲锋舟1艘"),
        2.0,
    ),
    RequisitionKind(
        "typhoon-shelter",
        "safety",
        "抢险救灾",
        "不动产",
        Cite("突发事件应对法", 12, "征用"),
        ("酒店客房40间（台风期间临时安置点）", "仓库一处（应急物资中转）", "学校体育馆（临时避难场所）"),
        2.0,
    ),
    RequisitionKind(
        "epidemic-hotel",
        "health",
        "疫情防控",
        "不动产",
        Cite("传染病防治法", 45, "征用"),
        ("酒店一栋（集中隔离点）", "场馆一处（临时检测点）"),
        1.0,
    ),
    RequisitionKind(
        "rescue-vehicle",
        "transport",
        "事故灾难处置",
        "交通工具",
        Cite("突发事件应对法", 12, "征用"),
        ("大型客车3辆", "吊车1台", "货车2辆"),
        1.0,
    ),
)
