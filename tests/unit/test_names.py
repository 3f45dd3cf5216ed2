import pytest

from services.residents.names import IMPERSONATION_MESSAGE, clean_display_name
from tenants.errors import ValidationFailed


@pytest.mark.parametrize("name", ["PC Smith", "Inspector", "pcso jones", "Chief Constable", "The P.C.C.",
                                  "Ｐｏｌｉｃｅ", "Sgt Pepper", "M0derator", "Pat Commissioner"])
def test_names_imitating_staff_are_refused(name):
    with pytest.raises(ValidationFailed) as err:
        clean_display_name(name, staff_names=["Pat Commissioner"])
    assert err.value.message == IMPERSONATION_MESSAGE


@pytest.mark.parametrize("name", ["Jo", "Pcsmith Fan", "Copper Kettle", "Chiefy", "Resident of Leeds"])
def test_ordinary_names_are_kept(name):
    assert clean_display_name(name, staff_names=[]) == name


def test_blank_name_gets_a_default():
    assert clean_display_name("   ", []).startswith("Resident ")


@pytest.mark.parametrize("name", ["x", "a" * 41, "bad\u0000name"])
def test_bad_names_get_a_clear_error(name):
    with pytest.raises(ValidationFailed):
        clean_display_name(name, [])
