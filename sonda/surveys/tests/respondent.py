"""A respondent's browser for page tests: keeps its cookies, posts the forms the pages carry."""

import html
import re
from typing import Any

from django.test import Client

HIDDEN_RE = re.compile(r'<input type="hidden" name="([\w-]+)" value="([^"]*)">')
ACTION_RE = re.compile(r'<form id="survey-form"[^>]* action="([^"]+)"')

# What the test client answers (an HttpResponse with the test client's additions).
Page = Any


class Respondent:
    """A browser without JavaScript, checking CSRF as a real one would be checked."""

    def __init__(self, **headers: Any) -> None:
        self.client = Client(enforce_csrf_checks=True, **headers)
        self.page: Page | None = None

    def open(self, url: str, **params: str) -> Page:
        self.page = self.client.get(url, params)
        return self.page

    def follow(self, answer: Page) -> Page:
        assert answer.status_code == 303, answer.status_code
        return self.open(answer["Location"])

    def answer(self, answers: dict[str, Any]) -> Page:
        """Fill in the page last opened and send it, as its submit button would."""
        assert self.page is not None
        page = self.page.content.decode()
        action = ACTION_RE.search(page)
        assert action is not None, "the page has no survey form"
        data = {name: html.unescape(value) for name, value in HIDDEN_RE.findall(page)}
        data.update({key: value for key, value in answers.items() if value is not None})
        self.page = self.client.post(html.unescape(action.group(1)), data)
        return self.page


def text(fragment: str) -> str:
    """The words of an HTML fragment, as a reader sees them."""
    words = re.sub(r"<[^>]+>", " ", fragment)
    return " ".join(html.unescape(words).split())


def headings(page: Page) -> list[str]:
    return [text(h) for h in re.findall(r"<h1>(.*?)</h1>", page.content.decode(), re.S)]


def questions(page: Page) -> list[str]:
    """The questions a page asks, in order, as their legends and labels read."""
    found = re.findall(
        r'<(?:legend|label) class="question-text"[^>]*>(.*?)</(?:legend|label)>',
        page.content.decode(),
        re.S,
    )
    return [text(q) for q in found]


def error_summary(page: Page) -> list[tuple[str, str]]:
    """The error summary's links: (where each takes the focus, message)."""
    content = page.content.decode()
    if 'role="alert"' not in content:
        return []
    summary = content.split('role="alert"', 1)[1].split("</div>", 1)[0]
    return [(target, text(m)) for target, m in re.findall(r'<a href="#([^"]+)">(.*?)</a>', summary)]


def checked(page: Page) -> dict[str, list[str]]:
    """The chosen options and the text typed, by question."""
    content = page.content.decode()
    out: dict[str, list[str]] = {}
    for tag in re.findall(r"<input [^>]*\bchecked\b[^>]*>", content):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        assert name is not None
        assert value is not None
        out.setdefault(name.group(1), []).append(value.group(1))
    for name, value in re.findall(
        r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', content, re.S
    ):
        if value:
            out[name] = [html.unescape(value)]
    return out
