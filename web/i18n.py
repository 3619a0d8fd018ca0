"""English and Chinese in the portal: species and trait names, UI strings, the language switch.

The language is the visitor's choice, kept in the session (``lang``: ``en``
or ``zh``; English until chosen). Templates call the filters
``species_name`` (a :class:`~germplasm.models.SpeciesRow`) and
``trait_name`` (an :class:`~germplasm.models.ObservationVariable` or a
variable name), the global ``_`` (a UI string, looked up in
:data:`ZH`) and ``current_language()`` (for ``<html lang>``).

Route (a small blueprint ``i18n``, registered by :func:`init_app`):

``GET /lang/<code>``
    ``code`` ``en`` or ``zh`` (anything else: 400); stores the choice and
    redirects to ``next`` when it is a path on this site, else home.

Chinese trait names come from the trait registry (``name_zh`` in
``germplasm/data/traits.yaml``); a variable without one keeps its English name,
and a UI string missing from :data:`ZH` stays English.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, Flask, abort, has_request_context, redirect, session, url_for
from werkzeug.wrappers import Response

LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
#: What the switch links say, each in its own language.
LANGUAGE_LABELS = {"en": "English", "zh": "中文"}

#: UI string (English, as written in the templates) -> Chinese.
ZH: dict[str, str] = {
    # base.html: navigation, search, account
    "Home": "首页",
    "Germplasm": "种质资源",
    "Predictions": "育种值预测",
    "Lists": "选择清单",
    "Crosses": "杂交组合",
    "Model runs": "模型运行",
    "Uploads": "数据上传",
    "Admin": "管理",
    "Log in": "登录",
    "Log out": "退出",
    "Search": "搜索",
    "Search germplasm": "搜索种质",
    "Name, number or synonym": "名称、编号或别名",
    "Skip to content": "跳至正文",
    "Language": "语言",
    # common words
    "Species": "物种",
    "Trait": "性状",
    "Traits": "性状",
    "Rank": "排名",
    "GEBV": "基因组估计育种值",
    "GEBVs": "基因组估计育种值",
    "Reliability": "可靠性",
    "Export": "导出",
    "Accession": "种质",
    "Accessions": "种质",
    "Institute": "保存单位",
    "Institutes": "保存单位",
    "Method": "方法",
    "Model run": "模型运行",
    "Goal": "育种目标",
    "Name": "名称",
    "Yes": "是",
    "No": "否",
    "Any": "任意",
    "Next": "下一页",
    "Previous": "上一页",
    "Per page": "每页",
    "page": "第",
    "of": "/",
    "Genotyped": "已基因分型",
    "Phenotyped": "已表型鉴定",
    "Jobs": "任务",
    "Index": "指数",
    "index": "指数",
    "traits": "性状",
    "candidates": "候选",
    "restricted": "受限",
    "Everyone": "所有人",
    "My institute only": "仅本单位",
    "Who sees it": "可见范围",
    "Select": "选择",
    "Selected": "入选",
    "Weight": "权重",
    "Gain": "增益",
    "Download CSV": "下载 CSV",
    "Download Excel": "下载 Excel",
    "All species": "全部物种",
    "Choose a species": "选择物种",
    "Clear filters": "清除筛选",
    "Any trial": "任意试验",
    "Observed in trial": "参加试验",
    "Progeny of parent": "亲本的后代",
    "Predicted value": "预测值",
    "Phenotype mean": "表型均值",
    "Ranking": "排名",
    "Show ranking": "显示排名",
    "ranked among": "排名范围",
    "match the filters": "符合筛选条件",
    "go to the first page": "回到第一页",
    "No candidates match these filters.": "没有符合这些条件的候选。",
    "No candidates on this page;": "本页没有候选；",
    "No model run": "无模型运行",
    "No model runs yet.": "尚无模型运行。",
    "No model run of this species is visible to you.": "您看不到该物种的任何模型运行。",
    "Cross-validated accuracy r": "交叉验证准确度 r",
    "Rank the candidates of a genomic-prediction model run on one trait, or on a selection index over several traits.": "按单一性状或多性状选择指数，对基因组预测模型运行的候选进行排名。",
    # selection index
    "Selection index": "选择指数",
    "Saved index": "已保存的指数",
    "Saved indexes": "已保存的指数",
    "No saved indexes yet.": "尚无已保存的指数。",
    "Save index": "保存指数",
    "Save and share this index": "保存并共享此指数",
    "Delete this index": "删除此指数",
    "Compute index": "计算指数",
    "economic weights": "经济权重",
    "desired gains": "期望增益",
    "Economic weights (Smith-Hazel)": "经济权重（Smith-Hazel）",
    "Desired gains (Pesek & Baker)": "期望增益（Pesek & Baker）",
    "Economic weight (per unit)": "经济权重（每单位）",
    "Desired gain (units)": "期望增益（单位）",
    "(not indexable)": "（不可纳入指数）",
    "Proportion selected (0–1)": "入选比例（0–1）",
    "This model run has no predictions.": "此模型运行没有预测结果。",
    "This index cannot be computed.": "无法计算此指数。",
    "Expected response": "预期选择响应",
    "Candidates ranked": "参与排名的候选",
    "Selection intensity": "选择强度",
    "Index accuracy": "指数准确度",
    "Gain in aggregate value": "综合育种值增益",
    "Index weight b": "指数权重 b",
    "SD of GEBVs": "育种值标准差",
    "Response per generation": "每世代响应",
    "% of mean": "占均值 %",
    "Candidates by index": "按指数排列的候选",
    "Add ticked candidates to": "将勾选的候选加入",
    "Add ticked to selection list": "将勾选项加入选择清单",
    "New list name": "新清单名称",
    "a new list named…": "新清单，名称为…",
    # home page
    "Germplasm, genotypes and genomic prediction in one place": "种质资源、基因型与基因组预测，一站汇集",
    "Find germplasm by name, accession number or synonym": "按名称、种质编号或别名查找种质",
    # species pages (dashboard)
    "Species overview": "物种概览",
    "Species dashboard": "物种仪表板",
    "Open the species dashboard": "打开物种仪表板",
    "Search accessions": "搜索种质",
    "Counts": "数量统计",
    "By institute": "按保存单位",
    "By biological status": "按生物学状态",
    "Biological status": "生物学状态",
    "Not recorded": "未记录",
    "Trials": "试验",
    "Trials visible to you": "您可见的试验",
    "Genotype datasets": "基因型数据集",
    "Population structure": "群体结构",
    "Principal components of the genotyped accessions": "已分型种质的主成分",
    "Colour by": "着色依据",
    "Subtaxa": "亚分类单元",
    "Trait distributions": "性状分布",
    "Latest model runs": "最新模型运行",
    "Accuracy by trait": "各性状准确度",
    "Accession means": "种质均值",
    "Date": "日期",
    "Samples": "样本",
    "Variants": "变异位点",
    "Dataset": "数据集",
    "Ploidy": "倍性",
    "Chromosomes": "染色体",
    # accession page
    "Passport": "护照信息",
    "Names and synonyms": "名称与别名",
    "Pedigree": "系谱",
    "Pedigree drawing": "系谱图",
    "Progeny": "后代",
    "Female parent": "母本",
    "Male parent": "父本",
    "unknown": "未知",
    "Studies": "研究",
    "Observations by study": "按研究汇总的观测",
    "Samples & genotypes": "样本与基因型",
    "Samples and genotype datasets": "样本与基因型数据集",
    "Genomic predictions": "基因组预测",
    "Variable": "变量",
    "Unit": "单位",
    "Mean": "均值",
    "higher is better": "越高越好",
    "lower is better": "越低越好",
    "nearest": "越接近越好：",
    "Accuracy r": "准确度 r",
}


def current_language() -> str:
    """The visitor's language (``en`` or ``zh``); English outside a request."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    lang = session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@functools.cache
def _registry_names() -> dict[str, tuple[str, str]]:
    """Variable name -> (English trait name, Chinese trait name) from the trait registry."""
    from breedhub.germplasm import default_registry, load_traits

    try:
        variables = load_traits(default_registry())
    except Exception:  # an institute's broken species.yaml must not break every page
        return {}
    return {v.name: (v.trait, v.name_zh) for v in variables}


def trait_names_zh() -> dict[str, str]:
    """Variable name -> its Chinese trait name, for the variables of the trait registry."""
    return {name: zh for name, (_, zh) in _registry_names().items() if zh}


def species_name(species: Any) -> str:
    """The species' common name in the current language (a SpeciesRow or anything with one).

    Chinese mode gives ``common_name_zh`` when the species has one, English
    mode (or a species without a Chinese name) ``common_name_en``.
    """
    if current_language() == "zh":
        zh = getattr(species, "common_name_zh", "")
        if zh:
            return str(zh)
    return str(getattr(species, "common_name_en", "") or getattr(species, "key", species))


def trait_name(variable: Any) -> str:
    """The trait's name in the current language (an ObservationVariable or a variable name).

    English: the variable's ``trait`` (``Plant height``); Chinese: the
    registry's ``name_zh`` (``株高``). A variable the registry does not know
    keeps its own trait name, or its variable name.
    """
    name = str(getattr(variable, "name", variable))
    english, chinese = _registry_names().get(name, ("", ""))
    if current_language() == "zh" and chinese:
        return chinese
    return str(getattr(variable, "trait", "") or english or name)


def translate(text: str) -> str:
    """A UI string in the current language (unchanged in English or when not translated)."""
    if current_language() == "zh":
        return ZH.get(text, text)
    return text


def _safe_next(target: str | None) -> str:
    """Only a path on this site (never another host), else the home page."""
    if (
        not target
        or len(target) > 2000
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 or ord(c) == 127 for c in target)
    ):
        return url_for("portal.home")
    return target


bp = Blueprint("i18n", __name__)


@bp.get("/lang/<code>")
def set_language(code: str) -> Response:
    """Remember the visitor's language and go back to ``next`` (a local path) or home."""
    from flask import request

    if code not in LANGUAGES:
        abort(400, description=f"Unknown language {code[:20]!r}: choose en or zh.")
    session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


def language_links() -> list[dict[str, str]]:
    """The switch: for each other language, its label and the URL that picks it here."""
    from flask import request

    here = request.full_path.rstrip("?") if has_request_context() else "/"
    return [
        {
            "code": c,
            "label": LANGUAGE_LABELS[c],
            "url": url_for("i18n.set_language", code=c, next=here),
        }
        for c in LANGUAGES
        if c != current_language()
    ]


def init_app(app: Flask) -> None:
    """Register the filters, ``_``, ``current_language``, ``language_links`` and ``/lang/<code>``."""
    app.add_template_filter(species_name, "species_name")
    app.add_template_filter(trait_name, "trait_name")
    app.add_template_global(translate, "_")
    app.add_template_global(current_language, "current_language")
    app.add_template_global(language_links, "language_links")
    app.register_blueprint(bp)
