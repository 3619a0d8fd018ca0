"""English and Chinese in the portal (web/i18n.py): the switch, species and trait names, UI strings."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from breedhub.web.i18n import LANGUAGES, ZH, current_language, species_name, trait_name, translate


def test_set_language__zh_home_shows_chinese_names(client, world):
    resp = client.get("/lang/zh")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    html = client.get("/").text
    assert '<h3>水稻 <span class="zh" lang="en">Asian rice</span></h3>' in html
    assert ">首页<" in html and ">种质资源<" in html  # base.html's navigation
    assert "7 份种质" in html and "<strong>5</strong> 份种质" in html
    assert "种质资源、基因型与基因组预测" in html
    assert 'href="/lang/en?next=/"' in html  # the way back


def test_set_language__english_by_default_and_after_switching_back(client, world):
    html = client.get("/").text
    assert '<h3>Asian rice <span class="zh" lang="zh">水稻</span></h3>' in html
    assert ">Home<" in html and 'href="/lang/zh?next=/"' in html
    client.get("/lang/zh")
    client.get("/lang/en")
    assert '<h3>Asian rice <span class="zh" lang="zh">水稻</span></h3>' in client.get("/").text


def test_accession__trait_names_in_chinese(client, world):
    html = client.get(f"/germplasm/{world.ir64}").text
    traits = html[html.index('id="traits"') : html.index('id="studies"')]
    assert "<td>Plant height</td>" in traits and "株高" not in traits
    client.get("/lang/zh")
    html = client.get(f"/germplasm/{world.ir64}").text
    traits = html[html.index('id="traits"') : html.index('id="studies"')]
    assert "<td>株高</td>" in traits and "<td>稻谷产量</td>" in traits
    predictions = html[html.index('id="predictions"') :]
    assert "株高 (cm)" in predictions and "越接近越好" in predictions
    assert ">性状<" in predictions and ">排名<" in predictions


def test_species__dashboard_in_chinese(client, world):
    client.get("/lang/zh")
    html = client.get("/species/rice").text
    assert "<h1>水稻 " in html and ">数量统计<" in html
    assert "株高" in html[html.index('id="traits"') :]


@pytest.mark.parametrize("code", ["xx", "EN", "zh-CN", "", "%00", "😀", "x" * 3000])
def test_set_language__unknown_code_400(client, world, code):
    resp = client.get(f"/lang/{code}")
    assert resp.status_code in (400, 404) if code == "" else resp.status_code == 400
    assert "Traceback" not in resp.text
    html = client.get("/").text
    assert ">Home<" in html  # the language did not change


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/germplasm?q=ir64", "/germplasm?q=ir64"),
        ("/species/rice", "/species/rice"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\x00b", "/"),
        ("/" + "x" * 3000, "/"),
    ],
)
def test_set_language__next_only_to_a_local_path(client, world, target, expected):
    resp = client.get("/lang/zh", query_string={"next": target})
    assert resp.status_code == 302
    assert resp.headers["Location"] == expected


def test_traits_yaml__every_variable_has_a_chinese_name():
    text = (resources.files("breedhub.germplasm") / "data" / "traits.yaml").read_text("utf-8")
    variables = yaml.safe_load(text)["variables"]
    assert len(variables) >= 32
    missing = [v["name"] for v in variables if not str(v.get("name_zh") or "").strip()]
    assert missing == []
    # a Chinese name, not an English one copied over
    assert all(any("\u4e00" <= c <= "\u9fff" for c in v["name_zh"]) for v in variables)


def test_translate__english_outside_a_request():
    assert current_language() == "en"
    assert translate("Home") == "Home"
    assert trait_name("PlantHeight_cm") == "Plant height"
    assert trait_name("NotAVariable") == "NotAVariable"


def test_translate__chinese_in_a_zh_session(app):
    class Sp:
        common_name_en, common_name_zh, key = "Rice", "水稻", "rice"

    class NoZh:
        common_name_en, common_name_zh, key = "Crayfish", "", "crayfish"

    with app.test_request_context("/"):
        from flask import session

        session["lang"] = "zh"
        assert translate("Home") == "首页" and translate("not in the table") == "not in the table"
        assert species_name(Sp()) == "水稻" and species_name(NoZh()) == "Crayfish"
        assert trait_name("DaysToHeading_d") == "抽穗期"
        session["lang"] = "fr"  # a tampered session falls back to English
        assert current_language() == "en" and species_name(Sp()) == "Rice"


def test_zh__navigation_of_base_html_translated():
    nav = ("Home", "Germplasm", "Predictions", "Lists", "Crosses", "Model runs", "Admin",
           "Log in", "Log out", "Search")  # fmt: skip
    assert all(ZH.get(t) for t in nav)
    assert LANGUAGES == ("en", "zh")
