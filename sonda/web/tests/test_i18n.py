"""Pages speak the language each user chose: English, Romanian or Polish."""

import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse

from sonda.accounts.models import User

LOCALE = Path(__file__).resolve().parents[2] / "locale"

NAVIGATION = {
    "en": [
        "Home",
        "Dashboards",
        "Units",
        "People",
        "Customers",
        "Surveys",
        "Responses",
        "Cases",
        "Listening",
        "Imports",
        "Members",
        "Notifications",
        "API tokens",
        "Audit log",
        "Erase customer data",
    ],
    "ro": [
        "Acasă",
        "Tablouri de bord",
        "Unități",
        "Persoane",
        "Clienți",
        "Sondaje",
        "Răspunsuri",
        "Cazuri",
        "Ascultarea clienților",
        "Importuri",
        "Membri",
        "Notificări",
        "Tokenuri API",
        "Jurnal de audit",
        "Ștergerea datelor unui client",
    ],
    "pl": [
        "Strona główna",
        "Pulpity",
        "Jednostki",
        "Pracownicy",
        "Klienci",
        "Ankiety",
        "Odpowiedzi",
        "Sprawy",
        "Słuchanie klientów",
        "Importy",
        "Członkowie",
        "Powiadomienia",
        "Tokeny API",
        "Dziennik audytu",
        "Usuwanie danych klienta",
    ],
}


def nav_labels(html: str) -> list[str]:
    nav = html.split('<ul class="nav-list">', 1)[1].split("</ul>", 1)[0]
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


@pytest.mark.parametrize("language", ["en", "ro", "pl"])
def test_the_navigation_speaks_the_users_language(world, signed_in, language):
    User.objects.filter(pk=world.admin.pk).update(language=language)
    response = signed_in(world.admin).get(reverse("home"))
    html = response.content.decode()
    assert nav_labels(html) == NAVIGATION[language]
    assert f'<html lang="{language}">' in html
    assert response["Content-Language"] == language


def test_a_romanian_user_reads_romanian_pages(world, signed_in):
    User.objects.filter(pk=world.analyst.pk).update(language="ro")
    html = signed_in(world.analyst).get(reverse("org:unit_tree")).content.decode()
    assert "<h1>Unități</h1>" in html
    assert "Salt la conținutul principal" in html
    assert "În curând" in html
    assert "Sondaje" in html


def test_a_polish_user_reads_polish_pages(world, signed_in):
    User.objects.filter(pk=world.analyst.pk).update(language="pl")
    html = signed_in(world.analyst).get(reverse("customers:list")).content.decode()
    assert "<h1>Klienci</h1>" in html
    assert "Szukaj po e-mailu, telefonie, identyfikatorze zewnętrznym lub nazwie" in html
    assert "Nie ma jeszcze klientów." in html


def test_anonymous_visitors_get_their_browsers_language(db, client):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="pl").content.decode()
    assert "Logowanie do Sondy" in html
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="ro").content.decode()
    assert "Autentificare în Sonda" in html


@pytest.mark.parametrize("language", ["ro", "pl"])
def test_every_catalogued_string_has_a_translation(language):
    po = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text()
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    # The compiled catalogue holds every message of the source one, each translated.
    singular = re.findall(r'^msgid "(.+)"$', po, re.M)
    assert "#, fuzzy" not in po
    for msgid in singular:
        text = msgid.encode().decode("unicode_escape").encode("latin-1").decode()
        assert catalogue.get(text) or catalogue.get((text, 0)), text
    assert all(value for value in catalogue.values())
