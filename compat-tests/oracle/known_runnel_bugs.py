"""Known Runnel bugs and gaps that the oracle shows: kept apart from the expected differences
(expected_differences.py) so that this list is visible and shrinks.

KNOWN_BUGS: a difference that is a Runnel bug. An entry matches a differing field of one
scenario like an expected difference does ("api", "field" glob); the scenario passes while the
difference is still there, and FAILS with "remove it" once the field no longer differs (the bug
is fixed). Each entry says what Kafka 4.4 answers and what Runnel answers.

MISSING_APIS: API keys Kafka 4.4 advertises and Runnel does not implement. Runnel must not
advertise them and must close the connection at once when asked, as Kafka does for an API it
does not know (a Kafka client then reports UNSUPPORTED_VERSION without sending it).

MISSING_VERSIONS: {api key: (Runnel's highest version, Kafka's highest version)} where Runnel
stops below Kafka. Clients pick the highest version both advertise, so this is a gap, not a
wrong answer; an entry fails "remove it" once Runnel reaches Kafka's version.
"""

KNOWN_BUGS = [
]

MISSING_APIS = {
}

MISSING_VERSIONS = {
}
