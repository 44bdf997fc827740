from datetime import UTC, datetime, time

from sonda.listening.quiet_hours import QuietHours

NIGHT = QuietHours(start=time(21, 0), end=time(9, 0))


def test_an_sms_in_the_afternoon_goes_out_at_once():
    at = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 15:00 in Bucharest
    assert NIGHT.next_allowed_time(at, channel="sms") == at


def test_an_sms_at_night_waits_for_the_morning_in_the_customers_time_zone():
    at = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)  # 23:00 in Bucharest, 22:00 in Warsaw
    assert NIGHT.next_allowed_time(at, channel="sms") == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)
    warsaw = NIGHT.next_allowed_time(at, channel="sms", customer_time_zone="Europe/Warsaw")
    assert warsaw == datetime(2026, 6, 2, 7, 0, tzinfo=UTC)


def test_an_sms_after_midnight_waits_for_the_same_mornings_end():
    at = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)  # 02:30 on 2 June in Bucharest
    assert NIGHT.next_allowed_time(at, channel="sms") == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)


def test_email_ignores_quiet_hours_unless_the_organisation_asks():
    at = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    assert NIGHT.next_allowed_time(at, channel="email") == at
    strict = QuietHours(start=time(21, 0), end=time(9, 0), for_email=True)
    assert strict.next_allowed_time(at, channel="email") == datetime(2026, 6, 2, 6, 0, tzinfo=UTC)


def test_the_morning_follows_daylight_saving_time():
    # 29 March 2026: Bucharest moves from UTC+2 to UTC+3 at 03:00 local time.
    at = datetime(2026, 3, 28, 22, 0, tzinfo=UTC)  # 00:00 local on the 29th
    assert NIGHT.next_allowed_time(at, channel="sms") == datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_an_unknown_time_zone_falls_back_to_the_organisations():
    at = datetime(2026, 6, 1, 20, 0, tzinfo=UTC)
    assert NIGHT.next_allowed_time(at, channel="sms", customer_time_zone="Mars/Olympus") == (
        datetime(2026, 6, 2, 6, 0, tzinfo=UTC)
    )
