"""Chinese names: people, enterprises and individual businesses, drawn with a numpy Generator.

The pools lean towards Guangdong (陈、黄、梁、林 are far more common there than nationally) so the
demo reads like a Guangdong register. Everything is drawn vectorised: a function returns a whole
array of names for one call, never one name per Python loop iteration over rows.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

StrArray = npt.NDArray[np.str_]

# Surname → relative weight (Guangdong frequency order, rough shares).
SURNAMES: tuple[tuple[str, float], ...] = (
    ("陈", 10.0),
    ("李", 7.0),
    ("黄", 6.5),
    ("张", 5.0),
    ("梁", 4.0),
    ("林", 4.0),
    ("刘", 4.0),
    ("吴", 3.2),
    ("罗", 3.0),
    ("杨", 2.8),
    ("何", 2.6),
    ("郑", 2.4),
    ("王", 2.4),
    ("周", 2.0),
    ("谢", 2.0),
    ("叶", 1.9),
    ("冯", 1.6),
    ("邓", 1.6),
    ("曾", 1.6),
    ("朱", 1.5),
    ("苏", 1.3),
    ("蔡", 1.3),
    ("许", 1.2),
    ("潘", 1.2),
    ("卢", 1.2),
    ("钟", 1.2),
    ("方", 1.0),
    ("彭", 1.0),
    ("余", 1.0),
    ("赖", 1.0),
    ("廖", 1.0),
    ("郭", 1.0),
    ("谭", 1.0),
    ("邱", 0.9),
    ("胡", 0.9),
    ("江", 0.8),
    ("杜", 0.6),
    ("蓝", 0.5),
    ("温", 0.6),
    ("古", 0.4),
    ("徐", 0.8),
    ("孙", 0.6),
    ("马", 0.6),
    ("高", 0.6),
    ("丘", 0.3),
    ("严", 0.4),
    ("莫", 0.5),
    ("麦", 0.4),
    ("关", 0.4),
    ("欧阳", 0.3),
    ("司徒", 0.15),
    ("区", 0.15),
    ("招", 0.1),
    ("冼", 0.15),
    ("植", 0.1),
    ("卓", 0.2),
    ("姚", 0.5),
    ("肖", 0.7),
    ("袁", 0.5),
    ("邹", 0.5),
    ("龙", 0.3),
    ("汤", 0.3),
    ("陆", 0.4),
)
_GIVEN_MALE = "伟强军明杰涛斌辉峰俊浩勇健志坚锋文华建国荣海波鹏宇超龙兵毅博航凯泽宏亮晖骏灿锐铭森炜"
_GIVEN_FEMALE = "芳娜敏静丽艳娟霞燕玲婷雪琳慧颖欣怡佳妍丹萍红洁蓉倩晶莉琪薇瑶嘉咏婉诗雅茵凤翠"
_GIVEN_ANY = "子家俊志嘉文伟晓宇思雨梓诗欣浩天子明国永少炳锦荣金达汉耀伟振昌"

# 字号 (trade-name) characters: the auspicious vocabulary Guangdong firms actually use.
TRADE_CHARS = (
    "鑫源华泰丰盛达宏利嘉恒信德祥福兴隆安佳美瑞康盈通创联新海粤金银天辉明光豪升腾骏汇众诚"
    "和顺发荣富锦龙凯宝昌益远志浩博雅鸿运晟卓越中南方东星宇亿万家乐怡惠顺捷迅锐朗晖"
)
ORG_FORMS: tuple[tuple[str, float], ...] = (
    ("有限公司", 70.0),
    ("有限责任公司", 12.0),
    ("股份有限公司", 4.0),
    ("实业有限公司", 6.0),
    ("分公司", 3.0),
    ("合伙企业（有限合伙）", 1.0),
    ("个人独资企业", 2.0),
)

# Industry words per enforcement field: the business an agency of that field mostly acts on.
# Keys are field codes used throughout the generator (see world.DEPARTMENTS).
INDUSTRIES: dict[str, tuple[str, ...]] = {
    "market": (
        "餐饮管理",
        "食品",
        "贸易",
        "商贸",
        "百货",
        "医药连锁",
        "电子商务",
        "食品贸易",
        "超市",
        "化妆品",
        "电器",
        "服装",
        "酒业",
        "茶业",
        "母婴用品",
    ),
    "environment": (
        "五金制品",
        "塑胶制品",
        "电子科技",
        "化工",
        "印染",
        "家具",
        "金属表面处理",
        "涂料",
        "纸业",
        "陶瓷",
        "包装材料",
        "再生资源",
    ),
    "safety": (
        "化工",
        "机械制造",
        "五金制品",
        "建材",
        "燃气",
        "危险化学品经营",
        "仓储",
        "铝业",
        "木业",
        "烟花爆竹",
    ),
    "transport": ("运输", "物流", "汽车客运", "货运", "道路运输", "汽车租赁", "驾驶培训", "集装箱运输"),
    "urban": ("建筑工程", "物业管理", "装饰工程", "广告", "餐饮管理", "市政工程", "环卫服务"),
    "housing": ("建筑工程", "房地产开发", "建设工程", "建筑劳务", "装饰工程", "混凝土", "工程监理"),
    "resources": ("房地产开发", "石材", "矿业", "砂石", "农业开发", "建材"),
    "health": ("门诊部", "口腔门诊部", "医疗美容", "健康管理", "诊所", "体检中心", "医疗器械", "消毒用品"),
    "culture": ("网络科技", "文化传播", "旅行社", "娱乐", "互联网上网服务", "演艺", "影视", "出版物发行"),
    "police": ("酒店管理", "旅馆", "娱乐", "保安服务", "印章刻制", "二手车交易", "典当"),
    "agriculture": ("农业发展", "渔业", "种苗", "农资", "兽药", "饲料", "水产养殖"),
    "water": ("水利工程", "砂石", "水务", "建筑工程"),
    "tax": ("贸易", "商贸", "电子科技", "实业"),
}

# Shop types of 个体工商户 per field (名称 = 行政区划 + 字号 + 行业 + 组织形式).
SHOPS: dict[str, tuple[str, ...]] = {
    "market": (
        "便利店",
        "餐馆",
        "烧腊店",
        "肠粉店",
        "士多店",
        "食品店",
        "水果店",
        "药店",
        "副食店",
        "奶茶店",
        "糖水铺",
        "粥粉面店",
        "服装店",
        "小卖部",
    ),
    "environment": ("汽车修理厂", "洗车场", "五金加工店", "废品收购站", "印刷店", "木器加工场"),
    "safety": ("五金店", "气体经营部", "加工厂", "建材店"),
    "transport": ("货运部", "运输队", "汽车维修店", "搬家服务部"),
    "urban": ("餐馆", "大排档", "烧烤店", "水果店", "杂货店"),
    "housing": ("装修工程部", "建材经营部"),
    "resources": ("砖厂", "石场", "沙场"),
    "health": ("诊所", "中医诊所", "牙科诊所", "推拿店"),
    "culture": ("网吧", "棋牌室", "KTV", "音像店", "书店"),
    "police": ("旅馆", "招待所", "出租屋", "修锁店"),
    "agriculture": ("农资店", "养殖场", "兽药店", "种子店"),
    "water": ("沙场", "养殖场"),
    "tax": ("贸易商行", "经营部"),
}


def _weighted_choice(
    rng: np.random.Generator, values: tuple[str, ...], weights: tuple[float, ...], n: int
) -> StrArray:
    p = np.asarray(weights, dtype=np.float64)
    picks = rng.choice(len(values), size=n, p=p / p.sum())
    return np.asarray(values)[picks]


def person_names(rng: np.random.Generator, n: int, male: npt.NDArray[np.bool_] | None = None) -> StrArray:
    """`n` Chinese personal names; `male` (optional) picks the given-name pool per person."""
    surnames = _weighted_choice(rng, tuple(s for s, _ in SURNAMES), tuple(w for _, w in SURNAMES), n)
    if male is None:
        male = rng.random(n) < 0.5
    male_pool = np.asarray(list(_GIVEN_MALE + _GIVEN_ANY))
    female_pool = np.asarray(list(_GIVEN_FEMALE + _GIVEN_ANY))
    first = np.where(
        male, male_pool[rng.integers(0, len(male_pool), n)], female_pool[rng.integers(0, len(female_pool), n)]
    )
    second = np.where(
        male, male_pool[rng.integers(0, len(male_pool), n)], female_pool[rng.integers(0, len(female_pool), n)]
    )
    # About a quarter of given names have one character (陈伟, 黄敏), the rest two.
    single = rng.random(n) < 0.25
    given = np.where(single, first, np.char.add(first, second))
    return np.char.add(surnames, given)


def trade_names(rng: np.random.Generator, n: int) -> StrArray:
    """`n` two-character 字号 such as 鑫源 or 华泰 (the two characters differ)."""
    pool = np.asarray(list(TRADE_CHARS))
    a = rng.integers(0, len(pool), n)
    b = (a + rng.integers(1, len(pool), n)) % len(pool)
    return np.char.add(pool[a], pool[b])


def enterprise_names(rng: np.random.Generator, places: StrArray, field: str) -> StrArray:
    """Enterprise names of one field: 广州市天河区鑫源餐饮管理有限公司 style, one per place given."""
    n = len(places)
    industries = np.asarray(INDUSTRIES[field])[rng.integers(0, len(INDUSTRIES[field]), n)]
    forms = _weighted_choice(rng, tuple(f for f, _ in ORG_FORMS), tuple(w for _, w in ORG_FORMS), n)
    names = np.char.add(np.char.add(np.char.add(places, trade_names(rng, n)), industries), forms)
    # A 分公司 is named after its parent: 广东鑫源贸易有限公司天河分公司 reads more real than 鑫源贸易分公司.
    branch = forms == "分公司"
    if branch.any():
        parents = np.char.add(np.char.add("广东", trade_names(rng, int(branch.sum()))), industries[branch])
        names[branch] = np.char.add(np.char.add(parents, "有限公司"), "分公司")
    return names


def shop_names(rng: np.random.Generator, places: StrArray, field: str, owners: StrArray) -> StrArray:
    """个体工商户 names: 东莞市长安镇鑫源便利店, or after the owner's surname (李记烧腊店)."""
    n = len(places)
    shops = np.asarray(SHOPS[field])[rng.integers(0, len(SHOPS[field]), n)]
    by_owner = rng.random(n) < 0.2
    surnames = np.asarray([o[:2] if o[:2] in _COMPOUND else o[:1] for o in owners.tolist()])
    marks = np.where(by_owner, np.char.add(surnames, "记"), trade_names(rng, n))
    return np.char.add(np.char.add(places, marks), shops)


_COMPOUND = frozenset(s for s, _ in SURNAMES if len(s) == 2)
