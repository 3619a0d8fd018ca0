import datetime as dt

import pytest
from sqlalchemy import select

from breedhub.germplasm import DuplicateError, NotFoundError, transaction
from breedhub.germplasm.models import ApiToken, Institute, User
from breedhub.germplasm.users import (
    add_user,
    change_password,
    check_password,
    create_token,
    hash_token,
    list_tokens,
    list_users,
    revoke_token,
    set_active,
    set_institute,
    set_password,
    set_role,
    user_for_token,
)


def test_create_token__only_its_hash_is_stored(engine):
    with transaction(engine) as s:
        add_user(s, "ana", role="breeder", password="s3cret")
        token, rec = create_token(s, "ana", name="laptop")
    with transaction(engine) as s:
        stored = s.scalars(select(ApiToken)).one()
        assert stored.token_hash == hash_token(token) and token not in stored.token_hash
        assert user_for_token(s, token).username == "ana"
        assert user_for_token(s, token + "x") is None
        assert check_password(stored.user.password_hash, "s3cret")
        assert not check_password(stored.user.password_hash, "wrong")


def test_user_for_token__revoked_or_expired(engine):
    with transaction(engine) as s:
        add_user(s, "bo", role="bioinformatician")
        token, rec = create_token(s, "bo", days=1)
        rec.revoked = True
    with transaction(engine) as s:
        assert user_for_token(s, token) is None


def test_add_user__rejects_duplicates_and_bad_roles(engine):
    with transaction(engine) as s:
        add_user(s, "cy", role="admin")
    with pytest.raises(DuplicateError), transaction(engine) as s:
        add_user(s, "cy", role="admin")
    with pytest.raises(ValueError, match="role"), transaction(engine) as s:
        add_user(s, "dee", role="king")
    with pytest.raises(ValueError, match="institute"), transaction(engine) as s:
        add_user(s, "eve", role="uploader")


# --- administration -------------------------------------------------------------------------


def _people(engine) -> dict[str, int]:
    """An institute and four users; their ids by name."""
    with transaction(engine) as s:
        s.add_all([Institute(code="PHL001", name="IRRI"), Institute(code="CHN999")])
        s.flush()
        ids = {}
        for name, role, inst in (
            ("root", "admin", None),
            ("ana", "breeder", "PHL001"),
            ("upa", "uploader", "phl001"),
            ("bo", "bioinformatician", None),
        ):
            ids[name] = add_user(s, name, role=role, institute=inst, password=f"pw-{name}-long").id
    return ids  # fmt: skip


def test_list_users__institute_and_last_token_use(engine):
    ids = _people(engine)
    with transaction(engine) as s:
        token, _ = create_token(s, "ana")
        create_token(s, "ana")[1].revoked = True
        user_for_token(s, token)
    with transaction(engine) as s:
        rows = {r.username: r for r in list_users(s)}
    assert list(rows) == ["ana", "bo", "root", "upa"]
    assert (rows["ana"].institute_code, rows["ana"].n_tokens) == ("PHL001", 1)
    assert rows["ana"].last_token_use is not None and rows["ana"].id == ids["ana"]
    assert (rows["bo"].institute_code, rows["bo"].last_token_use, rows["bo"].n_tokens) == (
        "",
        None,
        0,
    )
    assert rows["upa"].institute_code == "PHL001"  # the code was matched in any case


def test_add_user__bounds_every_field(engine):
    for kwargs, message in (
        ({"username": "a b"}, "letters, digits"),
        ({"username": "日本"}, "letters, digits"),
        ({"username": "x" * 101}, "at most 100"),
        ({"email": "e" * 201}, "at most 200"),
        ({"full_name": "a\x00b"}, "control characters"),
        ({"password": "p" * 501}, "at most 500"),
    ):
        args = {"username": "ok", "role": "breeder", **kwargs}
        with pytest.raises(ValueError, match=message), transaction(engine) as s:
            add_user(s, args.pop("username"), **args)
    with pytest.raises(NotFoundError), transaction(engine) as s:
        add_user(s, "ok", role="breeder", institute="XYZ001")


def test_set_role__changes_and_guards_admins(engine):
    ids = _people(engine)
    with transaction(engine) as s:
        assert (
            set_role(s, ids["ana"], "bioinformatician", by=ids["root"]).role == "bioinformatician"
        )
    with pytest.raises(ValueError, match="cannot demote yourself"), transaction(engine) as s:
        set_role(s, ids["root"], "breeder", by=ids["root"])
    with pytest.raises(ValueError, match="last active admin"), transaction(engine) as s:
        set_role(s, ids["root"], "breeder", by=None)
    with pytest.raises(ValueError, match="institute"), transaction(engine) as s:
        set_role(s, ids["bo"], "uploader")
    with pytest.raises(ValueError, match="not one of"), transaction(engine) as s:
        set_role(s, ids["bo"], "king")
    with pytest.raises(NotFoundError), transaction(engine) as s:
        set_role(s, 999_999, "breeder")
    # with a second admin, the first may be demoted by them
    with transaction(engine) as s:
        set_role(s, ids["bo"], "admin")
        assert set_role(s, ids["root"], "breeder", by=ids["bo"]).role == "breeder"


def test_set_active__tokens_stop_working_and_admins_guarded(engine):
    ids = _people(engine)
    with transaction(engine) as s:
        token, _ = create_token(s, "ana")
        set_active(s, ids["ana"], False, by=ids["root"])
    with transaction(engine) as s:
        assert user_for_token(s, token) is None
        set_active(s, ids["ana"], True, by=ids["root"])
    with transaction(engine) as s:
        assert user_for_token(s, token).username == "ana"
    with pytest.raises(ValueError, match="cannot deactivate yourself"), transaction(engine) as s:
        set_active(s, ids["root"], False, by=ids["root"])
    with pytest.raises(ValueError, match="last active admin"), transaction(engine) as s:
        set_active(s, ids["root"], False)


def test_set_password__min_length_and_hashed(engine):
    ids = _people(engine)
    with pytest.raises(ValueError, match="at least 10"), transaction(engine) as s:
        set_password(s, ids["ana"], "short")
    with transaction(engine) as s:
        user = set_password(s, ids["ana"], "a-new-password")
        assert (
            user.password_hash.startswith("scrypt$") and "a-new-password" not in user.password_hash
        )
        assert check_password(user.password_hash, "a-new-password")


def test_change_password__needs_the_current_one(engine):
    ids = _people(engine)
    with pytest.raises(ValueError, match="current password is wrong"), transaction(engine) as s:
        change_password(s, ids["ana"], "pw-wrong", "a-new-password")
    with pytest.raises(ValueError, match="must differ"), transaction(engine) as s:
        change_password(s, ids["ana"], "pw-ana-long", "pw-ana-long")
    with pytest.raises(ValueError, match="at least 10"), transaction(engine) as s:
        change_password(s, ids["ana"], "pw-ana-long", "short")
    with transaction(engine) as s:
        change_password(s, ids["ana"], "pw-ana-long", "a-new-password")
    with transaction(engine) as s:
        assert check_password(s.get(User, ids["ana"]).password_hash, "a-new-password")


def test_set_institute__moves_and_uploaders_keep_one(engine):
    ids = _people(engine)
    with transaction(engine) as s:
        assert set_institute(s, ids["bo"], "chn999").institute.code == "CHN999"
        assert set_institute(s, ids["bo"], None).institute_id is None
    with pytest.raises(ValueError, match="uploader"), transaction(engine) as s:
        set_institute(s, ids["upa"], "")
    with pytest.raises(NotFoundError), transaction(engine) as s:
        set_institute(s, ids["bo"], "ZZZ999")


def test_revoke_token__owner_or_admin_only(engine):
    ids = _people(engine)
    with transaction(engine) as s:
        token, rec = create_token(s, "ana", name="laptop")
        token_id = rec.id
    with pytest.raises(NotFoundError), transaction(engine) as s:
        revoke_token(s, token_id, by=ids["bo"])  # someone else's: as if unknown
    with pytest.raises(NotFoundError), transaction(engine) as s:
        revoke_token(s, 2**40, by=ids["ana"])
    with transaction(engine) as s:
        assert user_for_token(s, token) is not None
        revoke_token(s, token_id, by=ids["root"], is_admin=True)
    with transaction(engine) as s:
        assert user_for_token(s, token) is None
        assert [(t.name, t.revoked) for t in list_tokens(s, ids["ana"])] == [("laptop", True)]


def test_create_token__days_bounded_and_expiry_honoured(engine):
    _people(engine)
    for days in (0, -1, 3651, 10**9):
        with pytest.raises(ValueError, match="days"), transaction(engine) as s:
            create_token(s, "ana", days=days)
    with pytest.raises(ValueError, match="token name"), transaction(engine) as s:
        create_token(s, "ana", name="n" * 101)
    with transaction(engine) as s:
        token, rec = create_token(s, "ana", days=3650)
        rec.expires_at = dt.datetime(2000, 1, 1)
    with transaction(engine) as s:
        assert user_for_token(s, token) is None
