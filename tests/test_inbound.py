from core.inbound import check_inbound, clean_text


def test_empty_and_whitespace_get_a_friendly_reply() -> None:
    for text in ("", "   ", "\n\t\r\n", "\x00\x07"):
        check = check_inbound(text, max_chars=100)
        assert check.reply is not None and "empty" in check.reply
        assert check.text == ""


def test_over_long_messages_are_refused_with_the_numbers() -> None:
    check = check_inbound("a" * 101, max_chars=100)
    assert check.reply is not None
    assert "101 characters" in check.reply and "100" in check.reply


def test_control_characters_go_and_lone_surrogates_are_replaced() -> None:
    assert clean_text("a\x00b\x1bc\x7fd\r\ne") == "abcd\ne"
    cleaned = clean_text("hi \ud800 there")
    cleaned.encode("utf-8")  # would raise on a lone surrogate
    assert cleaned.startswith("hi ") and cleaned.endswith(" there")


def test_real_text_is_kept_whole() -> None:
    text = "Grüße 👋 — 漢字\n\tindented"
    assert check_inbound(text, max_chars=1000).text == text


def test_platform_ids_are_short_printable_ascii() -> None:
    from core.inbound import invalid_ids, valid_id

    for good in ("C0123ABC", "1712.000100", "T9000EXT", "123456789012345678", "console"):
        assert valid_id(good), good
    for bad in ("", "C\ud800", "C 1", "C\n1", "C\x00", "Ç01", "x" * 256, None, 42):
        assert not valid_id(bad), repr(bad)
    assert invalid_ids(channel="C1", user="U\udfff", thread=None) == ["user"]
