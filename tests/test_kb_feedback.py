"""Thanks-resolution detection in customer replies (en + de)."""

import pytest

from mailproc.kb.feedback import is_thanks_resolution


@pytest.mark.parametrize(
    "text",
    [
        "that fixed it",
        "Thanks, works now",
        "Danke, es funktioniert wieder",
        "Perfect, problem solved. You can close the ticket.",
        "Hat geklappt, danke!",
        "It works again, thank you",
        "Super, alles funktioniert jetzt.",
        "it's working now, thanks\n\nOn Mon, 3 Feb 2025 Support wrote:\n> did this help? still not working?",
    ],
)
def test_resolution_recognised(text):
    assert is_thanks_resolution(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks, but it still doesn't work",
        "Thanks!",
        "Danke, leider geht es immer noch nicht",
        "Thanks for the quick reply. I tried it and it doesn't work.",
        "Danke für die schnelle Antwort",
        "The article did not help",
        "",
    ],
)
def test_not_a_resolution(text):
    assert not is_thanks_resolution(text)
