"""Generate data/sample: a small Chinese NER corpus (PER/LOC/ORG, BIO) written for this project.

    python tools/make_sample.py            # (re)write data/sample/{train,dev,test}.txt and README.md
    python tools/make_sample.py --check    # exit 1 if the committed files differ from the output

Every sentence comes from the hand-written templates and entity lists below; nothing is copied
from an existing corpus. The output is deterministic: one ``random.Random(SEED)`` and only its
``random()`` method, whose sequence for a given integer seed Python keeps stable across versions.

Design, for a demo that a tiny BiGRU-CRF learns in a couple of minutes on a CPU: the same
templates appear in every split, so contexts are consistent, but dev and test also draw entities
from held-out lists (given names, places, organisations that never occur in train), so a model
has to use context rather than memorise strings.
"""
from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

SEED = 20240517
SIZES = (("train", 400), ("dev", 80), ("test", 80))
HELD_OUT_RATE = 0.35  # share of dev/test entities drawn from the held-out lists

# --- entity lists -------------------------------------------------------------------------------
SURNAMES = list("王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾田董潘袁蔡蒋余杜叶程魏苏吕丁沈任姚卢钟姜崔谭陆范汪廖石金贾夏方邹熊白孟秦侯江尹薛段雷龙史陶贺顾龚邵钱严") + [
    "欧阳", "司马", "诸葛", "上官"]
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞",
         "平", "刚", "秀英", "桂英", "建国", "建华", "志强", "海燕", "晓东", "雪梅", "文博", "子涵", "思远",
         "嘉怡", "浩然", "雨桐", "天宇", "佳琪", "明轩", "若曦", "一鸣", "梓萱", "志远", "春生", "秋菊", "国庆",
         "红梅", "立新", "晓光", "美玲", "家豪"]
GIVEN_HELD_OUT = ["晨阳", "静怡", "振华", "慧敏", "国栋", "晓燕", "云飞", "书涵", "鹏程", "婉清", "子墨", "欣然"]

CITIES = ["北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "重庆", "武汉", "西安", "天津", "苏州", "长沙",
          "郑州", "青岛", "厦门", "昆明", "大连", "沈阳", "哈尔滨", "济南", "福州", "合肥", "南昌", "贵阳", "兰州",
          "拉萨", "乌鲁木齐", "呼和浩特", "宁波"]
CITIES_HELD_OUT = ["桂林", "洛阳", "敦煌", "丽江", "三亚", "开封", "绍兴", "扬州"]
PROVINCES = ["海南", "云南", "四川", "广东", "浙江", "江苏", "山东", "河南", "湖北", "湖南", "黑龙江", "福建",
             "安徽", "江西", "陕西", "甘肃", "新疆", "西藏"]
PROVINCES_HELD_OUT = ["贵州", "青海", "宁夏", "吉林"]
NATURE = ["长江", "黄河", "珠江", "泰山", "黄山", "峨眉山", "西湖", "太湖", "洞庭湖", "长白山", "青海湖", "漓江"]
NATURE_HELD_OUT = ["鄱阳湖", "华山", "庐山", "雅鲁藏布江"]
COUNTRIES = ["日本", "美国", "法国", "德国", "英国", "俄罗斯", "巴西", "澳大利亚", "新加坡", "加拿大", "韩国",
             "印度", "西班牙", "南非"]
COUNTRIES_HELD_OUT = ["埃及", "意大利", "墨西哥", "挪威"]

ORGS = ["北京大学", "清华大学", "复旦大学", "浙江大学", "南京大学", "武汉大学", "中山大学", "中国科学院",
        "中国银行", "国家统计局", "教育部", "外交部", "中国足球协会", "联合国", "世界卫生组织", "红十字会",
        "星河科技公司", "蓝海集团", "华光电子公司", "长风汽车公司", "青禾农业合作社", "远航物流公司",
        "云帆软件公司", "金石律师事务所", "晨曦出版社", "东方明珠艺术团", "绿洲环保基金会", "天工机器人公司"]
ORGS_HELD_OUT = ["山海食品公司", "白鹭航空公司", "四川大学", "厦门大学", "中国气象局", "北辰电力集团",
                 "银杏书院", "海鸥相机厂"]
ORG_CITY_SUFFIXES = ["市人民医院", "市图书馆", "市第一中学", "市气象台"]  # "{city}市图书馆" is one ORG

# --- templates ----------------------------------------------------------------------------------
# Slots: {PER} {PER2} {PER3} person; {LOC} any place; {CITY} {CITY2} city; {PROV} province;
# {NATURE} river/mountain/lake; {COUNTRY}; {ORG} {ORG2} organisation; {N} 2-99; {H} 2-12;
# {YEAR} {MONTH} {DAY}. Everything outside a slot is tagged O.
TEMPLATES = [
    "{PER}昨天在{CITY}参加了{ORG}举办的研讨会。",
    "{ORG}宣布将在{CITY}建设新的研发中心。",
    "据报道，{PER}将于{MONTH}月{DAY}日访问{COUNTRY}。",
    "{PER}是{ORG}的教授。",
    "{CITY}今天天气晴朗，最高气温{N}度。",
    "{PER}和{PER2}在{CITY}举行了会谈。",
    "{ORG}{PER}教授发表了演讲。",
    "今天的会议讨论了明年的工作计划。",
    "{YEAR}年，{PER}从{ORG}毕业后来到{CITY}工作。",
    "{PER}说：“我很喜欢{CITY}的美食。”",
    "{ORG}发布了{YEAR}年第{H}期工作简报。",
    "记者从{ORG}获悉，{PROV}北部的降雨将持续到周末。",
    "{PER}用手机APP预订了去{CITY}的机票。",
    "{COUNTRY}的GDP在{YEAR}年增长了{N}%。",
    "我们周末打算去{NATURE}玩。",
    "{PER}的女儿在{ORG}读书。",
    "{ORG}与{ORG2}签署了战略合作协议。",
    "{CITY}和{CITY2}之间的高铁将于{YEAR}年开通。",
    "{PER}担任{ORG}董事长已经{N}年了。",
    "这家餐厅的菜很好吃，价格也不贵。",
    "{PER}、{PER2}和{PER3}获得了本年度的优秀教师称号。",
    "{ORG}的专家在{PROV}考察了当地的农业项目。",
    "来自{CITY}的{PER}获得了比赛冠军。",
    "{PER}表示，{ORG}将继续加大投入。",
    "明天上午九点开会，请大家准时参加。",
    "{PER}给{PER2}打了一个电话。",
    "{ORG}位于{CITY}，成立于{YEAR}年。",
    "欢迎来到{CITY}！",
    "{PER}（{ORG}研究员）认为，市场需求仍然旺盛。",
    "{YEAR}年{MONTH}月，{ORG}在{CITY}召开年会。",
    "这本书讲述了{PER}在{PROV}的童年生活。",
    "{ORG}{PER}研究员介绍说，新技术已经成熟。",
    "{PER}打算下个月去{COUNTRY}旅游。",
    "{ORG}推出了新一代5G基站。",
    "{NATURE}的冬天非常寒冷。",
    "{PER}向{ORG}捐赠了{N}万元。",
    "请把这份文件交给{PER}。",
    "{CITY}市民可以在{ORG}的网站上查询相关信息。",
    "{PER}和朋友在{NATURE}拍了很多照片。",
    "天气预报说明天有小雨，出门记得带伞。",
    "{ORG}今年招聘{N}名软件工程师。",
    "{PER}获得了{ORG}颁发的奖学金。",
    "{COUNTRY}代表团参观了{ORG}。",
    "{PER}的新书在{CITY}首发。",
    "{CITY}地铁{H}号线今天正式运营。",
    "{PER}：“{ORG}的服务非常好！”",
    "从{CITY}到{CITY2}的航班因大雾延误了{H}个小时。",
    "我昨天看了一部电影，觉得很感人。",
    "{ORG}举办的马拉松比赛吸引了{N}名选手参加。",
    "{PER}在{ORG}工作，住在{CITY}。",
    "{YEAR}年{MONTH}月{DAY}日，{PER}出生于{PROV}。",
    "{ORG}发言人{PER}回答了记者提问。",
    "{NATURE}是著名的旅游景点，每年吸引大量游客。",
    "在{COUNTRY}留学的{PER}回国探亲。",
    "{PER}和{PER2}是大学同学。",
    "{ORG}和{ORG2}联合发布了研究报告。",
    "周末的超市人很多，排队结账花了半个小时。",
    "今天考试我得了满分，很开心。",
    "{PER}每天早上用AI助手练习英语口语。",
    "{PROV}的橘子运到了{COUNTRY}。",
]

_SLOT_TYPE = {"PER": "PER", "LOC": "LOC", "CITY": "LOC", "PROV": "LOC", "NATURE": "LOC", "COUNTRY": "LOC",
              "ORG": "ORG"}


class _Picker:
    """Draws from lists with ``random.Random(seed).random()`` only (stable across Python versions)."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def index(self, n: int) -> int:
        return int(self.rng.random() * n)

    def pick(self, seq):
        return seq[self.index(len(seq))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


def _entity(picker: _Picker, slot: str, held_out: bool) -> str:
    base = slot.rstrip("0123456789")
    if base == "PER":
        return picker.pick(SURNAMES) + picker.pick(GIVEN_HELD_OUT if held_out else GIVEN)
    if base == "LOC":
        base = picker.pick(["CITY", "PROV", "NATURE", "COUNTRY"])
    if base == "CITY":
        return picker.pick(CITIES_HELD_OUT if held_out else CITIES)
    if base == "PROV":
        return picker.pick(PROVINCES_HELD_OUT if held_out else PROVINCES)
    if base == "NATURE":
        return picker.pick(NATURE_HELD_OUT if held_out else NATURE)
    if base == "COUNTRY":
        return picker.pick(COUNTRIES_HELD_OUT if held_out else COUNTRIES)
    if base == "ORG":
        if picker.chance(0.2):
            return picker.pick(CITIES_HELD_OUT if held_out else CITIES) + picker.pick(ORG_CITY_SUFFIXES)
        return picker.pick(ORGS_HELD_OUT if held_out else ORGS)
    raise KeyError(slot)


def _fill(picker: _Picker, template: str, held_out_rate: float) -> Tuple[List[str], List[str]]:
    """Characters and BIO tags of one sentence."""
    chars: List[str] = []
    tags: List[str] = []
    used = set()
    rest = template
    while rest:
        open_ = rest.find("{")
        if open_ < 0:
            literal, slot, rest = rest, None, ""
        else:
            close = rest.index("}", open_)
            literal, slot, rest = rest[:open_], rest[open_ + 1:close], rest[close + 1:]
        chars.extend(literal)
        tags.extend("O" * len(literal))
        if slot is None:
            continue
        if slot == "N":
            value, typ = str(2 + picker.index(98)), None
        elif slot == "H":
            value, typ = str(2 + picker.index(11)), None
        elif slot == "YEAR":
            value, typ = str(1990 + picker.index(35)), None
        elif slot == "MONTH":
            value, typ = str(1 + picker.index(12)), None
        elif slot == "DAY":
            value, typ = str(1 + picker.index(28)), None
        else:
            typ = _SLOT_TYPE[slot.rstrip("0123456789")]
            value = _entity(picker, slot, picker.chance(held_out_rate))
            while value in used:  # "{PER}和{PER2}" should name two people
                value = _entity(picker, slot, picker.chance(held_out_rate))
            used.add(value)
        chars.extend(value)
        if typ is None:
            tags.extend("O" * len(value))
        else:
            tags.extend(["B-" + typ] + ["I-" + typ] * (len(value) - 1))
    return chars, tags


def generate(seed: int = SEED) -> Dict[str, List[Tuple[List[str], List[str]]]]:
    """split -> list of (chars, tags). No sentence text occurs twice in the whole corpus."""
    picker = _Picker(seed)
    seen = set()
    out = {}
    for split, size in SIZES:
        rate = 0.0 if split == "train" else HELD_OUT_RATE
        sentences = []
        while len(sentences) < size:
            chars, tags = _fill(picker, picker.pick(TEMPLATES), rate)
            text = "".join(chars)
            if text not in seen:
                seen.add(text)
                sentences.append((chars, tags))
        out[split] = sentences
    return out


def _conll(sentences) -> str:
    return "".join("".join(f"{c}\t{t}\n" for c, t in zip(chars, tags)) + "\n" for chars, tags in sentences)


def _entities(sentences) -> List[Tuple[str, str]]:
    """(type, string) of every entity, in order."""
    found = []
    for chars, tags in sentences:
        for i, tag in enumerate(tags):
            if tag.startswith("B-"):
                j = i + 1
                while j < len(tags) and tags[j] == "I-" + tag[2:]:
                    j += 1
                found.append((tag[2:], "".join(chars[i:j])))
    return found


def _readme(corpus) -> str:
    train_strings = {s for _, s in _entities(corpus["train"])}
    rows = []
    for split, _ in SIZES:
        sents = corpus[split]
        ents = _entities(sents)
        by_type = Counter(t for t, _ in ents)
        unseen = sum(1 for _, s in ents if s not in train_strings)
        rows.append(f"| {split} | {len(sents)} | {sum(len(c) for c, _ in sents)} | {by_type['PER']} | "
                    f"{by_type['LOC']} | {by_type['ORG']} | {len(ents)} | "
                    f"{'-' if split == 'train' else unseen} |")
    return "\n".join([
        "# data/sample: a small Chinese NER corpus written for this project",
        "",
        "Generated by `tools/make_sample.py` (do not edit by hand; regenerate with",
        "`python tools/make_sample.py`, check with `python tools/make_sample.py --check`).",
        "",
        "Every sentence was produced from hand-written templates and entity lists in that script;",
        "nothing is copied from MSRA, Weibo, Resume or any other corpus. Person names are common",
        "surname + given-name combinations, places are well-known Chinese and world places, and",
        "organisations are either well-known institutions or invented companies.",
        "",
        f"- Format: one `char<TAB>tag` per line, a blank line after each sentence, UTF-8, LF.",
        f"- Tags: BIO with types PER, LOC, ORG.",
        f"- {len(TEMPLATES)} templates (news-like and everyday sentences, some without entities, some with",
        "  adjacent entities such as ORG+PER, digits, Latin letters like APP/GDP/5G/AI, full-width",
        "  punctuation).",
        f"- Deterministic: seed {SEED}. Dev and test draw about {round(HELD_OUT_RATE * 100)}% of their entities "
        "from held-out lists that train never uses, so they contain entity strings unseen in train.",
        "- It is the default corpus of `make demo` and of the tests.",
        "",
        "| split | sentences | chars | PER | LOC | ORG | entities | entities whose string is not in train |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ])


def render(seed: int = SEED) -> Dict[str, str]:
    """File name -> file content for data/sample."""
    corpus = generate(seed)
    files = {f"{split}.txt": _conll(corpus[split]) for split, _ in SIZES}
    files["README.md"] = _readme(corpus)
    return files


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "sample",
                        help="output directory (default: data/sample of this repository)")
    parser.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        stale = [name for name, text in files.items()
                 if not (args.out / name).is_file() or (args.out / name).read_text(encoding="utf-8") != text]
        if stale:
            print(f"{args.out}: out of date: {', '.join(stale)} (run python tools/make_sample.py)", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        with open(args.out / name, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    print(f"wrote {', '.join(sorted(files))} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
