import pytest
from sqlalchemy import select

from breedhub.germplasm import DuplicateError, transaction
from breedhub.germplasm.models import ApiToken
from breedhub.germplasm.users import (
    add_user,
    check_password,
    create_token,
    hash_token,
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
