"""The accession page's pedigree drawing (web/pedigree_svg.py), laid out by the real Graphviz dot."""

from __future__ import annotations

import re
import time

import pytest

from breedhub.germplasm import transaction
from breedhub.germplasm.models import Pedigree
from breedhub.germplasm.queries_dashboard import pedigree_tree
from breedhub.web.db import get_engine
from breedhub.web.pedigree_svg import pedigree_rows, pedigree_svg
from tests.web._dashboard_data import add_three_generations
from tests.web.conftest import add_accession


def _tree(app, accession_id: int, **limits):
    with transaction(get_engine(app)) as s:
        return pedigree_tree(s, accession_id, **limits)


def _link(i: int) -> str:
    return f"/germplasm/{i}"


def _graph(html: str) -> str:
    start = html.index('<svg class="pedigree-chart"')
    return html[start : html.index("</svg>", start)]


def test_accession__three_generations_drawn_with_links(app, client, world):
    ids = add_three_generations(app)
    resp = client.get(f"/germplasm/{ids['KID']}")
    assert resp.status_code == 200
    svg = _graph(resp.text)
    # parents, grandparents and a great-grandparent, each a link to its page; the progeny too
    for number in ("DAM", "SIRE", "GD1", "GS1", "GD2", "GS2", "GGD", "KID2", "KID"):
        assert f'href="/germplasm/{ids[number]}"' in svg, number
        assert f">{number}</text>" in svg
    assert ">unknown</text>" in svg  # GD1's sire
    assert 'id="pedigree-table"' not in resp.text


def test_accession__pedigree_drawing_absent_without_relatives(client, world):
    html = client.get(f"/germplasm/{world.duroc}").text
    assert "pedigree-chart" not in html and 'id="pedigree-table"' not in html


def test_accession__pedigree_links_keep_the_parent_facts(client, world):
    html = client.get(f"/germplasm/{world.iraz1}").text
    pedigree = html[html.index('id="pedigree"') : html.index('id="traits"')]
    # the parents' links come first (as before), then the drawing
    first = pedigree.index(f'<a href="/germplasm/{world.ir64}">IRGC 66970</a> IR64')
    assert first < pedigree.index('<svg class="pedigree-chart"')
    assert f'href="/germplasm/{world.azucena}"' in _graph(html)


def test_pedigree_tree__generations_depths_and_unknown(app, world):
    ids = add_three_generations(app)
    tree = _tree(app, ids["KID"])
    depth = {n.accenumb: n.depth for n in tree.nodes.values()}
    assert depth == {"KID": 0, "DAM": -1, "SIRE": -1, "GD1": -2, "GS1": -2, "GD2": -2,
                     "GS2": -2, "GGD": -3, "KID2": 1}  # fmt: skip
    assert (None, ids["GD1"], "male") in tree.edges
    assert (ids["KID"], ids["KID2"], "female") in tree.edges
    assert not tree.truncated
    two = _tree(app, ids["KID"], generations=2, progeny_generations=0)
    assert "GGD" not in {n.accenumb for n in two.nodes.values()} and two.truncated


def test_pedigree_tree__a_loop_ends(app, world):
    with transaction(get_engine(app)) as s:
        a = add_accession(s, species="pig", instcode="USA999", accenumb="LOOP-A")
        b = add_accession(s, species="pig", instcode="USA999", accenumb="LOOP-B")
        s.add(Pedigree(accession_id=a.id, female_parent_id=b.id))
        s.add(Pedigree(accession_id=b.id, female_parent_id=a.id, male_parent_id=b.id))
        ids = (a.id, b.id)
    start = time.perf_counter()
    tree = _tree(app, ids[0], generations=20, progeny_generations=5)
    assert time.perf_counter() - start < 5
    assert set(tree.nodes) == set(ids)
    assert (ids[0], ids[1], "female") in tree.edges  # the loop is drawn, once
    assert pedigree_svg(tree, link=_link) is not None


def test_accession__a_looping_pedigree_renders(app, client, world):
    with transaction(get_engine(app)) as s:
        a = add_accession(s, species="pig", instcode="USA999", accenumb="LOOP-A")
        s.add(Pedigree(accession_id=a.id, female_parent_id=a.id, male_parent_id=world.duroc))
        aid = a.id
    resp = client.get(f"/germplasm/{aid}")
    assert resp.status_code == 200
    assert f'href="/germplasm/{world.duroc}"' in _graph(resp.text)


def test_pedigree_tree__a_huge_pedigree_is_capped(app, world):
    # a full binary pedigree of 6 generations: 126 ancestors
    with transaction(get_engine(app)) as s:
        level = [add_accession(s, species="pig", instcode="USA999", accenumb="F-0").id]
        root = level[0]
        n = 1
        for _ in range(6):
            parents = []
            for child in level:
                pair = []
                for _ in range(2):
                    pair.append(
                        add_accession(s, species="pig", instcode="USA999", accenumb=f"F-{n}").id
                    )
                    n += 1
                s.add(
                    Pedigree(accession_id=child, female_parent_id=pair[0], male_parent_id=pair[1])
                )
                parents += pair
            level = parents
    tree = _tree(app, root, generations=20)
    assert len(tree.nodes) == 60 and tree.truncated
    assert all(p is None or p in tree.nodes for p, _, _ in tree.edges)
    four = _tree(app, root)  # the page's 4 generations: 30 ancestors, older ones left out
    assert len(four.nodes) == 31 and four.truncated
    svg = pedigree_svg(tree, link=_link)
    assert svg is not None and svg.count('<a href="/germplasm/') == 60


def test_accession__missing_dot_gives_a_table(app, client, world, monkeypatch, tmp_path):
    ids = add_three_generations(app)
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz on this PATH
    resp = client.get(f"/germplasm/{ids['KID']}")
    assert resp.status_code == 200
    assert "pedigree-chart" not in resp.text
    table = resp.text[resp.text.index('id="pedigree-table"') :]
    table = table[: table.index("</table>")]
    row = table[table.index(f'<tr><td><a href="/germplasm/{ids["KID"]}">KID</a>') :]
    row = row[: row.index("</tr>")]
    assert f'<a href="/germplasm/{ids["DAM"]}">DAM</a>' in row
    assert f'<a href="/germplasm/{ids["SIRE"]}">SIRE</a>' in row
    gd1 = table[table.index(f'<tr><td><a href="/germplasm/{ids["GD1"]}">GD1</a>') :]
    assert "unknown" in gd1[: gd1.index("</tr>")]
    for number in ("GS1", "GD2", "GS2", "GGD", "KID2"):
        assert f'href="/germplasm/{ids[number]}"' in table


def test_pedigree_svg__dot_overrunning_its_time_gives_none(app, world):
    ids = add_three_generations(app)
    assert pedigree_svg(_tree(app, ids["KID"]), link=_link, timeout=1e-6) is None


def test_pedigree_svg__labels_are_escaped(app, world):
    with transaction(get_engine(app)) as s:
        kid = add_accession(s, species="pig", instcode="USA999", accenumb='K"1', name="<b>x</b>")
        dam = add_accession(s, species="pig", instcode="USA999", accenumb="D\\2", name="a & b")
        s.add(Pedigree(accession_id=kid.id, female_parent_id=dam.id))
        kid_id = kid.id
    svg = str(pedigree_svg(_tree(app, kid_id), link=_link))
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg and "a &amp; b" in svg
    assert re.search(r"<text[^>]*>K&quot;1</text>|<text[^>]*>K\"1</text>", svg)


def test_pedigree_rows__progeny_first_ancestors_last(app, world):
    ids = add_three_generations(app)
    rows = pedigree_rows(_tree(app, ids["KID"]))
    order = [r.node.accenumb for r in rows]
    assert order[0] == "KID2" and order[1] == "KID" and order[-1] == "GD1"
    gd1 = rows[-1]
    assert gd1.female is not None and gd1.female.accenumb == "GGD" and gd1.male_unknown


def test_pedigree_tree__limits_checked(app, world):
    with transaction(get_engine(app)) as s:
        for bad in ({"generations": -1}, {"max_nodes": 0}, {"progeny_generations": 9},
                    {"generations": True}):  # fmt: skip
            with pytest.raises(ValueError, match=next(iter(bad))):
                pedigree_tree(s, world.ir64, **bad)
