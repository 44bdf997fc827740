"""SMS: the provider interface, the HTTP provider, the logging provider, and the texts.

A provider either accepts a message (its id comes back) or says why not: `TransientSmsError`
(try again later: the network, a timeout, the provider's own trouble) or `PermanentSmsError`
(sending again cannot help: an invalid number, a refused request). Every send carries the
message's idempotency key; the HTTP provider passes it as the `Idempotency-Key` header, on which
the provider deduplicates, so a retry after a timeout or a worker's crash never sends twice.
"""

import json
import logging
import time
import unicodedata
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

log = logging.getLogger(__name__)

MAX_SEGMENTS = 2
# The GSM 03.38 basic character set: texts written in it take 160 characters a segment.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = "^{}\\[~]|€"  # two septets each


@dataclass(frozen=True)
class SmsResult:
    provider_id: str


class SmsError(Exception):
    pass


class TransientSmsError(SmsError):
    """Worth trying again later."""


class PermanentSmsError(SmsError):
    """Trying again cannot help (e.g. an invalid number)."""


class SmsProvider(Protocol):
    def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult: ...


class LoggingSmsProvider:
    """Development: the SMS goes to the log instead of a phone."""

    def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult:
        provider_id = f"log-{idempotency_key}"
        log.info("SMS to %s (%s): %s", to, provider_id, text)
        return SmsResult(provider_id=provider_id)


class HttpSmsProvider:
    """POST {to, text, sender} as JSON to the provider with a bearer token and Idempotency-Key.

    A connection that cannot be made is tried again a few times within the call (nothing reached
    the provider); a timeout or a 5xx is transient, any other 4xx permanent (408 and 429 are the
    provider asking for patience, so transient).
    """

    def __init__(
        self,
        *,
        url: str,
        token: str,
        sender: str,
        timeout: float = 10.0,
        connect_retries: int = 2,
        backoff: float = 0.2,
    ) -> None:
        self.url = url
        self.token = token
        self.sender = sender
        self.timeout = timeout
        self.connect_retries = connect_retries
        self.backoff = backoff

    def send(self, *, to: str, text: str, idempotency_key: str) -> SmsResult:
        if not self.url.startswith(("https://", "http://")):
            # The operator's configuration, not the number: worth trying again once it is fixed.
            raise TransientSmsError("SONDA_SMS_URL must be an http(s) address")
        body = json.dumps({"to": to, "text": text, "sender": self.sender}).encode()
        for attempt in range(self.connect_retries + 1):
            try:
                return self._post(body, idempotency_key)
            except ConnectionError as error:
                if attempt == self.connect_retries:
                    raise TransientSmsError(f"cannot reach the SMS provider: {error}") from error
                time.sleep(self.backoff * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, body: bytes, idempotency_key: str) -> SmsResult:
        # The scheme is checked in `send`: only http(s) reaches urllib.
        request = urllib.request.Request(  # noqa: S310
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                answer = response.read()
        except urllib.error.HTTPError as error:
            detail = _error_text(error)
            if error.code >= 500 or error.code in (408, 429):
                raise TransientSmsError(f"provider answered {error.code}: {detail}") from error
            raise PermanentSmsError(f"provider answered {error.code}: {detail}") from error
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, ConnectionError):
                raise reason from error
            if isinstance(reason, TimeoutError):
                raise TransientSmsError("the SMS provider did not answer in time") from error
            raise TransientSmsError(f"cannot reach the SMS provider: {reason}") from error
        except TimeoutError as error:
            raise TransientSmsError("the SMS provider did not answer in time") from error
        try:
            data = json.loads(answer or b"{}")
        except ValueError:
            data = {}
        provider_id = ""
        if isinstance(data, dict):
            provider_id = str(data.get("id") or data.get("message_id") or "")
        return SmsResult(provider_id=provider_id or f"sms-{idempotency_key}")


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(300).decode("utf-8", "replace").strip() or error.reason
    except OSError:
        return str(error.reason)


def sms_provider() -> SmsProvider:
    """The provider the settings name (SONDA_SMS_PROVIDER: logging | http)."""
    if settings.SONDA_SMS_PROVIDER == "http":
        return HttpSmsProvider(
            url=settings.SONDA_SMS_URL,
            token=settings.SONDA_SMS_TOKEN,
            sender=settings.SONDA_SMS_SENDER,
            timeout=settings.SONDA_SMS_TIMEOUT,
        )
    return LoggingSmsProvider()


# --- The texts ------------------------------------------------------------------------------

# {sender} names the organisation, {url} is the personal link. Short enough for two segments
# even in UCS-2 (67 characters a segment) with a long link; see `sms_text`.
SMS_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "invitation": "{sender}: how did we do? Tell us in 1 minute: {url}",
        "reminder": "{sender}: a reminder, your opinion still counts: {url}",
    },
    "ro": {
        "invitation": "{sender}: cum a fost? Spuneți-ne într-un minut: {url}",
        "reminder": "{sender}: vă reamintim, părerea dvs. contează: {url}",
    },
    "pl": {
        "invitation": "{sender}: jak nam poszło? Oceń nas w minutę: {url}",
        "reminder": "{sender}: przypominamy, Twoja opinia się liczy: {url}",
    },
}


def is_gsm(text: str) -> bool:
    return all(char in GSM_BASIC or char in GSM_EXTENDED for char in text)


def sms_segments(text: str) -> int:
    """How many segments the text takes: GSM-7 (160, or 153 each when split) or UCS-2 (70/67)."""
    if is_gsm(text):
        length = sum(2 if char in GSM_EXTENDED else 1 for char in text)
        single, each = 160, 153
    else:
        length = sum(2 if ord(char) > 0xFFFF else 1 for char in text)
        single, each = 70, 67
    if length <= single:
        return 1
    return -(-length // each)


def _plain(text: str) -> str:
    """Without diacritics (ș → s, ł → l), as SMS are often written to stay in GSM-7."""
    text = text.replace("ł", "l").replace("Ł", "L")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def sms_text(*, kind: str, language: str, sender: str, url: str) -> str:
    """The message in its language, at most two segments.

    Diacritics make a text UCS-2 (70 characters a segment); when that does not fit, the text is
    written without them (GSM-7, 160), and a sender name too long for what is left is shortened.
    """
    template = SMS_TEXTS.get(language, SMS_TEXTS["en"]).get(kind) or SMS_TEXTS["en"]["invitation"]
    sender = " ".join(sender.split()) or "Sonda"
    text = template.format(sender=sender, url=url)
    if sms_segments(text) <= MAX_SEGMENTS:
        return text
    plain_template, plain_sender = _plain(template), _plain(sender)
    while True:
        text = plain_template.format(sender=plain_sender, url=url)
        if not is_gsm(text):
            text = "".join(char if is_gsm(char) else "?" for char in text)
        if sms_segments(text) <= MAX_SEGMENTS or len(plain_sender) <= 1:
            return text
        plain_sender = plain_sender[: max(1, len(plain_sender) - 5)].rstrip()
