import json

from stream.tools.tail import format_line


def test_a_dead_letter_line_names_its_source_topic_and_position() -> None:
    letter = {
        "source_topic": "tweets.feedback",
        "partition": 1,
        "offset": 12,
        "reason": "malformed_json",
        "detail": "Expecting value at line 1 col 1",
        "payload_base64": "",
    }
    assert format_line("tweets.deadletter", json.dumps(letter).encode()) == (
        "[tweets.deadletter] DEAD LETTER malformed_json from tweets.feedback "
        "(partition 1, offset 12): Expecting value at line 1 col 1"
    )
