"""Selection lists in the portal: adding ticked rows, visibility, owner-only changes, CSRF, export, kinship."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
from openpyxl import load_workbook

from breedhub.germplasm import transaction
from breedhub.germplasm.models import SelectionList, SelectionListItem
from breedhub.web.db import get_engine
from tests.web._lists_data import add_cross_run
from tests.web.conftest import csrf_token, login


def _token(client) -> str:
    return csrf_token(client, "/lists")


def _add(client, ids, **form):
    data = {"csrf_token": _token(client), "accession": [str(i) for i in ids], **form}
    return client.post("/lists/add", data=data)


def _items(app, list_id: int) -> list[int]:
    with transaction(get_engine(app)) as s:
        lst = s.get(SelectionList, list_id)
        return [it.accession_id for it in lst.items] if lst else []


def _list_id(app, name: str) -> int:
    with transaction(get_engine(app)) as s:
        from sqlalchemy import select

        return s.scalars(select(SelectionList.id).where(SelectionList.name == name)).one()


def _make_list(app, owner_id, ids, *, name="kept", visibility="restricted", institute_id=None):
    with transaction(get_engine(app)) as s:
        lst = SelectionList(name=name, owner_id=owner_id, visibility=visibility,
                            institute_id=institute_id)  # fmt: skip
        s.add(lst)
        s.flush()
        for k, a in enumerate(ids):
            s.add(SelectionListItem(list_id=lst.id, accession_id=a, position=k))
        return lst.id


def _institute_id(app, code: str) -> int:
    from sqlalchemy import select

    from breedhub.germplasm.models import Institute

    with transaction(get_engine(app)) as s:
        return s.scalars(select(Institute.id).where(Institute.code == code)).one()


def test_add_items__new_list_then_duplicates_ignored(app, client, world, accounts):
    login(client, "bea")
    resp = _add(client, [world.ir64, world.azucena, world.ir64], name="Block A",
                next="/predictions?run=1")  # fmt: skip
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/predictions?run=1")
    list_id = _list_id(app, "Block A")
    assert _items(app, list_id) == [world.ir64, world.azucena]
    resp = _add(client, [world.azucena, world.iraz1], list_id=str(list_id))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/lists/{list_id}")
    assert _items(app, list_id) == [world.ir64, world.azucena, world.iraz1]
    # the same name again adds to that list rather than failing
    _add(client, [world.nipponbare], name="Block A", list_id="")
    assert _items(app, list_id)[-1] == world.nipponbare


def test_add_items__unknown_ids_are_400_and_nothing_is_added(app, client, world, accounts):
    login(client, "bea")
    list_id = _make_list(app, accounts.ids["bea"], [world.ir64])
    resp = _add(client, [world.azucena, 999999], list_id=str(list_id))
    assert resp.status_code == 400 and "999999" in resp.text
    assert _items(app, list_id) == [world.ir64]
    resp = _add(client, [world.azucena, 999998], name="Never made")
    assert resp.status_code == 400
    with transaction(get_engine(app)) as s:
        from sqlalchemy import select

        assert (
            s.scalars(select(SelectionList).where(SelectionList.name == "Never made")).first()
            is None
        )
    for bad in ("abc", "-1", "²", "1e3"):
        assert _add(client, [bad], list_id=str(list_id)).status_code == 400


def test_add_items__next_must_be_a_local_path(client, world, accounts):
    login(client, "bea")
    resp = _add(client, [world.ir64], name="L", next="https://evil.example/x")
    assert resp.status_code == 302 and "evil" not in resp.headers["Location"]
    resp = _add(client, [world.ir64], name="L", next="//evil.example/x")
    assert "evil" not in resp.headers["Location"]


def test_add_items__someone_elses_list_is_403_or_404(app, client, world, accounts):
    phl = _institute_id(app, "PHL001")
    public = _make_list(app, accounts.ids["bio"], [world.ir64], name="pub", visibility="public",
                        institute_id=phl)  # fmt: skip
    hidden = _make_list(app, accounts.ids["chen"], [world.ir64], name="sec",
                        institute_id=_institute_id(app, "CHN999"))  # fmt: skip
    login(client, "bea")
    assert _add(client, [world.azucena], list_id=str(public)).status_code == 403
    assert _add(client, [world.azucena], list_id=str(hidden)).status_code == 404
    assert _items(app, public) == [world.ir64]


def test_writes__need_a_csrf_token(app, client, world, accounts):
    login(client, "bea")
    list_id = _make_list(app, accounts.ids["bea"], [world.ir64])
    for url, data in (
        ("/lists/add", {"accession": str(world.azucena), "list_id": str(list_id)}),
        ("/lists/new", {"name": "x"}),
        (f"/lists/{list_id}/remove", {"accession": str(world.ir64)}),
        (f"/lists/{list_id}/edit", {"name": "y"}),
        (f"/lists/{list_id}/delete", {}),
    ):
        assert client.post(url, data=data).status_code == 400, url
    assert _items(app, list_id) == [world.ir64]


def test_writes__anonymous_is_sent_to_login(client, world):
    resp = client.post("/lists/add", data={"accession": str(world.ir64), "name": "x"})
    assert resp.status_code in (302, 400)  # CSRF first, or the login page


def test_show__restricted_list_of_another_institute_is_404(app, client, world, accounts):
    chn = _institute_id(app, "CHN999")
    list_id = _make_list(
        app, accounts.ids["chen"], [world.ir64], name="Zq-secret", institute_id=chn
    )
    assert client.get(f"/lists/{list_id}").status_code == 404
    login(client, "bea")
    assert client.get(f"/lists/{list_id}").status_code == 404
    assert client.get(f"/lists/{list_id}/export?format=csv").status_code == 404
    assert "Zq-secret" not in client.get("/lists").text
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "chen")
    assert client.get(f"/lists/{list_id}").status_code == 200
    assert "Zq-secret" in client.get("/lists").text
    assert client.get("/lists/999999").status_code == 404


def test_owner_only__others_who_see_the_list_get_403(app, client, world, accounts):
    phl = _institute_id(app, "PHL001")
    list_id = _make_list(app, accounts.ids["bio"], [world.ir64, world.azucena], visibility="public",
                         institute_id=phl)  # fmt: skip
    login(client, "bea")
    token = _token(client)
    assert client.get(f"/lists/{list_id}").status_code == 200
    for url, data in (
        (f"/lists/{list_id}/remove", {"accession": str(world.ir64)}),
        (f"/lists/{list_id}/edit", {"name": "mine now"}),
        (f"/lists/{list_id}/delete", {}),
    ):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    assert _items(app, list_id) == [world.ir64, world.azucena]


def test_owner__removes_renames_shares_and_deletes(app, client, world, accounts):
    login(client, "bea")
    list_id = _make_list(app, accounts.ids["bea"], [world.ir64, world.azucena, world.iraz1])
    token = _token(client)
    resp = client.post(f"/lists/{list_id}/remove",
                       data={"csrf_token": token, "accession": [str(world.azucena)]})  # fmt: skip
    assert resp.status_code == 302
    assert _items(app, list_id) == [world.ir64, world.iraz1]
    resp = client.post(f"/lists/{list_id}/edit", data={"csrf_token": token, "name": "Elite",
                                                        "visibility": "public"})  # fmt: skip
    assert resp.status_code == 302
    with transaction(get_engine(app)) as s:
        lst = s.get(SelectionList, list_id)
        assert (lst.name, lst.visibility) == ("Elite", "public")
    bad = client.post(f"/lists/{list_id}/edit", data={"csrf_token": token, "visibility": "all"})
    assert bad.status_code == 400
    resp = client.post(f"/lists/{list_id}/delete", data={"csrf_token": token})
    assert resp.status_code == 302
    assert client.get(f"/lists/{list_id}").status_code == 404


def test_admin__may_change_any_list(app, client, world, accounts):
    list_id = _make_list(app, accounts.ids["chen"], [world.ir64],
                         institute_id=_institute_id(app, "CHN999"))  # fmt: skip
    login(client, "admin")
    resp = client.post(f"/lists/{list_id}/delete", data={"csrf_token": _token(client)})
    assert resp.status_code == 302


def test_create__form_makes_a_list(app, client, world, accounts):
    login(client, "bea")
    page = client.get("/lists")
    assert page.status_code == 200 and 'action="/lists/new"' in page.text
    resp = client.post("/lists/new", data={"csrf_token": _token(client), "name": "Fresh",
                                           "description": "for 2026", "visibility": "public"})  # fmt: skip
    assert resp.status_code == 302
    list_id = _list_id(app, "Fresh")
    again = client.post("/lists/new", data={"csrf_token": _token(client), "name": "Fresh"})
    assert again.status_code == 400
    assert "Fresh" in client.get("/lists").text
    assert client.get(f"/lists/{list_id}").status_code == 200


def test_show__compares_means_gebvs_and_parents(app, client, world, accounts):
    list_id = _make_list(app, accounts.ids["bea"], [world.ir64, world.iraz1], visibility="public")
    html = client.get(f"/lists/{list_id}").text
    assert "IRGC 66970" in html and "BH-0001" in html
    assert "-4.25" in html  # IR64's GEBV from the world's run
    assert "IR64" in html and "Azucena" in html  # IRAZ-1's parents
    assert "pedigree relationship" in html  # not all genotyped in one store
    # the cross planner opens on the list's species
    assert f"/crosses?list={list_id}&amp;species=rice" in html


def test_export__csv_and_xlsx_hold_the_candidates(app, client, world, accounts):
    list_id = _make_list(app, accounts.ids["bea"], [world.iraz1, world.ir64], visibility="public")
    resp = client.get(f"/lists/{list_id}/export?format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    lines = [x for x in resp.get_data(as_text=True).splitlines() if not x.startswith("# ")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    assert [r["accession_number"] for r in rows] == ["BH-0001", "IRGC 66970"]
    assert rows[0]["female_parent"] == "IR64" and rows[0]["male_parent"] == "Azucena"
    assert float(rows[1]["mean:PlantHeight_cm"]) == 95.0
    assert float(rows[1]["gebv:PlantHeight_cm"]) == -4.25
    resp = client.get(f"/lists/{list_id}/export?format=xlsx")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert "BH-0001" in values and "IRGC 66970" in values
    assert client.get(f"/lists/{list_id}/export?format=pdf").status_code == 400


def _matrix(html: str) -> np.ndarray:
    table = html.split('id="kinship-table"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><th scope=\"row\">.*?</tr>", table, flags=re.S)
    return np.array([[float(v) for v in re.findall(r'<td class="num">([-0-9.]+)</td>', r)]
                     for r in rows])  # fmt: skip


def test_show__genomic_kinship_matches_numpy(app, client, world, accounts, tmp_path):
    data = add_cross_run(app, tmp_path)
    ids = data.accession_ids[:5]
    list_id = _make_list(app, accounts.ids["bea"], ids, visibility="public")
    html = client.get(f"/lists/{list_id}").text
    assert "genomic relationship" in html and "ploidy 2" in html
    K = _matrix(html)
    X = np.where(data.dosage >= 0, data.dosage, data.centre)[:5]
    p = data.centre / 2
    G = (X - 2 * p) @ (X - 2 * p).T / (2 * np.sum(p * (1 - p)))
    assert K.shape == (5, 5)
    np.testing.assert_allclose(K, K.T)
    np.testing.assert_allclose(K, np.round(G, 3), atol=1.5e-3)


def test_show__pedigree_kinship_when_not_genotyped(app, client, world, accounts):
    list_id = _make_list(app, accounts.ids["bea"], [world.iraz1, world.ir64, world.azucena],
                         visibility="public")  # fmt: skip
    K = _matrix(client.get(f"/lists/{list_id}").text)
    np.testing.assert_allclose(K, [[1, 0.5, 0.5], [0.5, 1, 0], [0.5, 0, 1]])


@pytest.mark.parametrize("value", ["\x00", "x" * 300, "😀" * 201])
def test_add_items__bad_names_are_400(client, world, accounts, value):
    login(client, "bea")
    assert _add(client, [world.ir64], name=value).status_code == 400
