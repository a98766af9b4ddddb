"""curator's own detectors (no Spark) and the false-positive patterns that prose, speeches and technical docs hold:
each pattern quoted in issue #17 must come out unchanged, next to the real identifiers that must not."""

from __future__ import annotations

import pytest

from curator.pii.engine import phone_in_context
from curator.pii.recognizers import Span, address_spans, iban_spans, ip_spans, national_id_spans, resolve, secret_spans


def found(detect, text):
    return [text[s.start:s.end] for s in detect(text)]


# -- false positives quoted in the issue, through the whole default scrubber ---------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        "The directive takes a literal block::\n\n   print('hello')\n",  # reST `::`
        "The result can be::\n\n   >>> f(x)\n",  # reST `be::` (was an IPv6 address)
        "std::vector<int> v; a::b::c(); Foo::Bar and ::",
        "Python [GCC 2.7.2.2] on linux2; version 3.11.2; pip>=23.1.2.1",  # version strings
        "The OID 1.3.6.1.4.1.311.21.7 names a certificate template; 2.5.4.3 is commonName.",  # OIDs
        "Appropriations of $475,061.386 and $12,345,678 for the fiscal year.",  # money amounts
        "Receipts were 1,234,567,890 dollars, expenditures 987,654,321.12 dollars, a surplus of 2.5 per cent.",
        "4133 Veterans Memorial Drive is far; Batavia, NY 14020 and Amherst NY 14228 are towns.",  # "NY 14020"
        "Month    Receipts    Expenditures\nJanuary    4567890    8765432\nFebruary    5678901    7654321\n",
        "April - 63 - 64.3 - 59 - 80 - 38 - 36 - 27 - 82.2\nMay - 60 - 62.1 - 54 - 73 - 37 - 34 - 26 - 82.0\n",
        "Signed on 12/05/2019, amended 2019-05-12 and 19.10.2019; the 2011-2018 period; 10:13:15 2006-03-07.",
        ">>> int(addr4)\n3221225985\n>>> Decimal(7)\nDecimal('0.142857143')\n>>> random.seed(3652260728)\n",
        "postalCode '03894-4801'; ISBN 0-596-00797-3; ncurses-6.1-20190511; x86_64-linux-gnu.",
        "accumulate([1,2,3,4,5], initial=100) --> 100 101 103 106 110 115; 1.7246671520006203",
        "nums = [0.3712595970846668, 0.37866875250654886]",
        "The password: required field; token = get_token(); secret_key = os.environ['SECRET']; passwd=None",
        "http://user:pass@host:port/path is the form of a URL with credentials.",
        "ratified 94 to 1 to pass the act; 73 1/3 to the square mile; 11 miles distant from the summit.",
    ],
)
def test_false_positive_patterns_are_left_alone(scrubber, text):
    result = scrubber.scrub(text)
    assert result.counts == {}, result.spans
    assert result.text == text


def test_money_amount_is_not_split_and_its_tail_replaced(scrubber):
    text = "a sum of $475,061.386 was appropriated; call 212-555-0134 for details."
    assert scrubber.scrub(text).text == "a sum of $475,061.386 was appropriated; call <PHONE_NUMBER> for details."


# -- phone numbers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "value",
    [
        "(814) 360 8593", "+1-212-456-7890", "+12312322334", "(231) 232-2334", "212.555.0134",
        "948-337-8876 x232", "+1 (701) 290-4047 ext. 12",  # US / CA with extensions
        "+44 20 7946 0958", "020 7946 0958", "07700 900123",  # UK
        "+49 30 12345678", "030/12345678", "+33 (0)6 44 83 37 88", "06 12 34 56 78",  # DE, FR
        "+39 06 6982 1234", "0521 833786", "+34 912 345 678", "+31 20 794 0958", "+55 11 98765-4321",  # IT ES NL BR
        "+91 98259 79190", "098259 79190", "+61 2 9374 4000", "(03) 3788 7623",  # IN, AU
        "+81 3-1234-5678", "0041 44 668 18 00",  # international prefixes
    ],
)
def test_phone_formats_across_regions(scrubber, value):
    result = scrubber.scrub(f"For bookings, phone {value} during office hours.")
    assert result.text == "For bookings, phone <PHONE_NUMBER> during office hours.", result.spans


def test_bare_digit_run_is_a_phone_only_after_a_cue():
    text = "Call me: 2312322334"
    assert phone_in_context(text, 9, len(text))
    code = "x = 2312322334"
    assert not phone_in_context(code, 4, len(code))


# -- IP addresses ---------------------------------------------------------------------------------------------------

def test_ip_addresses_parse_and_stand_alone():
    text = (
        "hosts 10.0.0.12, 172.16.254.1 and 2a02:c7f:85a3::8a2e:370:7334; fe80::1ff:fe23:4567:890a; "
        "not 1.3.6.1.4.1, not 999.1.1.1, not 10.0.0.0/8, not host1.2.3.4.example, not abc::def"
    )
    assert found(ip_spans, text) == ["10.0.0.12", "172.16.254.1", "2a02:c7f:85a3::8a2e:370:7334",
                                     "fe80::1ff:fe23:4567:890a"]


def test_single_digit_quads_need_a_network_word():
    assert found(ip_spans, "section 1.2.3.4 of the spec") == []
    assert found(ip_spans, "the server IP: 1.2.3.4 is down") == ["1.2.3.4"]


def test_loopback_and_documentation_ranges_are_configurable():
    from curator.pii.scrub import PiiScrubber

    text = "loopback 127.0.0.1, docs 192.0.2.10 and 2001:db8::1, public 93.184.216.34"
    default = PiiScrubber(["IP_ADDRESS"]).scrub(text)
    assert default.text == "loopback 127.0.0.1, docs 192.0.2.10 and 2001:db8::1, public <IP_ADDRESS>"
    everything = PiiScrubber(["IP_ADDRESS"], keep_ip_networks=()).scrub(text)
    assert everything.counts == {"IP_ADDRESS": 4}


# -- cards, IBAN, national ids ----------------------------------------------------------------------------------

def test_card_of_any_issuer_by_luhn_and_length(scrubber):
    # 16 digits starting with 9 (no issuer in the list) but Luhn-valid; and a UnionPay 19-digit number.
    result = scrubber.scrub("cards 9111 1111 1111 1110 and 6212345678901265 and 6212345678900000001")
    assert result.counts.get("CREDIT_CARD") == 2 and "9111 1111 1111 1110" not in result.text


def test_iban_any_case_with_checksum():
    text = (
        "IBAN de89 3704 0044 0532 0130 00, GB82WEST12345698765432 and fr1420041010050500013m02606; "
        "not DE89370400440532013001"
    )
    assert found(iban_spans, text) == ["de89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
                                       "fr1420041010050500013m02606"]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("CPF 390.533.447-05 do titular", "390.533.447-05"),
        ("DNI 12345678Z en vigor", "12345678Z"),
        ("NIE X1234567L en vigor", "X1234567L"),
        ("codice fiscale RSSMRA85T10A562S del cliente", "RSSMRA85T10A562S"),
        ("Aadhaar 2345 6789 0124 linked", "2345 6789 0124"),
        ("Aadhaar no. 234567890124 linked", "234567890124"),
        ("n° de sécurité sociale 2 95 10 99 126 111 93", "2 95 10 99 126 111 93"),
        ("SIN: 123 456 782 on file", "123 456 782"),
        ("BSN 111222333 op de pas", "111222333"),
    ],
)
def test_national_ids_with_checksums(text, value):
    assert found(national_id_spans, text) == [value]


def test_national_ids_need_checksum_and_context():
    assert found(national_id_spans, "DNI 12345678A; CPF 390.533.447-06; codice RSSMRA85T10A562X") == []
    assert found(national_id_spans, "order 123 456 782 shipped; 234567890124 rows") == []  # no SIN/Aadhaar cue


# -- street addresses -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "address",
    [
        "777 Brockton Avenue, Abington MA 02351",
        "1600 Pennsylvania Ave NW, Washington, DC 20500",
        "350 5th Avenue, New York, NY 10118",
        "66-4 Parkhurst Rd, Chelmsford MA 01824",
        "Flat 37, Bennett Mall, East Harrietport, N8 8HN",
        "10 Downing Street, London SW1A 2AA",
        "8128 Wood Street, South Bradleyshire, PE H4H 1X4",
    ],
)
def test_street_addresses_in_running_text(scrubber, address):
    result = scrubber.scrub(f"Since May they live at {address} with two cats.")
    assert result.text == "Since May they live at <STREET_ADDRESS> with two cats.", result.spans


def test_street_words_in_prose_are_not_addresses():
    text = "He walked 3 miles down the road and 2 blocks along Main Street; the court ruled 5 to 4."
    assert found(address_spans, text) == []


# -- secrets --------------------------------------------------------------------------------------------------------

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi2e8zKgTm9nqGZbq1Yd5sE2wR4\n"
    "kZ1q2YQd8c7sJ5yqB0o3Lw7h7n9XUuTq0V4cFqX2kN8d1hJmQ2r5fE8sT3dA6bY7\n"
    "-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("snippet", "secret"),
    [
        ('AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n', "AKIAIOSFODNN7EXAMPLE"),
        ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
         "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("git clone https://ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5@github.com/org/repo\n",
         "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5"),
        ("SLACK_TOKEN: xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx\n",
         "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
        ("stripe.api_key = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'\n", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
        ("DATABASE_URL=postgres://app:s3cr3t-Pa55@db.internal:5432/app\n", "s3cr3t-Pa55"),
        ('{"password": "Tr0ub4dor&3", "user": "admin"}\n', "Tr0ub4dor&3"),
        ("db_password: hunter2hunter2\n", "hunter2hunter2"),
        (f"Authorization: Bearer {JWT}\n", JWT),
        (f"key.pem:\n{PRIVATE_KEY}\n", PRIVATE_KEY),
    ],
)
def test_secrets_in_code_and_config(scrubber, snippet, secret):
    result = scrubber.scrub(snippet)
    assert secret not in result.text and "<SECRET>" in result.text
    assert result.text == snippet.replace(secret, "<SECRET>")


def test_secret_placeholders_and_code_are_not_secrets():
    code = (
        "password = getpass.getpass()\napi_key = os.environ['API_KEY']\ntoken = None\n"
        "secret = '<your secret here>'\nPASSWORD = '${DB_PASSWORD}'\n"
        "-----BEGIN RSA PRIVATE KEY-----\n... (private key in base64 encoding) ...\n-----END RSA PRIVATE KEY-----\n"
    )
    assert found(secret_spans, code) == []


# -- overlaps -------------------------------------------------------------------------------------------------------

def test_longer_span_beats_fragments():
    spans = [Span(0, 10, "PHONE_NUMBER", 1.0), Span(0, 30, "STREET_ADDRESS", 0.7), Span(40, 45, "SECRET", 1.0)]
    assert resolve(spans) == [Span(0, 30, "STREET_ADDRESS", 0.7), Span(40, 45, "SECRET", 1.0)]


def test_ner_fragments_do_not_beat_an_ipv6_match():
    from types import SimpleNamespace as R

    from curator.pii.scrub import resolve_overlaps

    results = [
        R(start=5, end=33, score=0.8, entity_type="IP_ADDRESS"),
        R(start=5, end=13, score=0.85, entity_type="PERSON"), R(start=20, end=24, score=0.85, entity_type="LOCATION"),
    ]
    assert [r.entity_type for r in resolve_overlaps(results)] == ["IP_ADDRESS"]


def test_compiled_pyap_grammars_find_what_pyap_parse_finds():
    """address_spans runs pyap's grammars itself (compiled once): same normalization, same addresses as pyap.parse."""
    import random

    import pyap
    from pyap.parser import AddressParser

    from curator.pii.recognizers import _pyap_grammar, _pyap_normalize

    rng = random.Random(17)
    alphabet = "ab1 ,,\n\n\r\t\u00a0\u2010\u2013\u2014-"
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        assert _pyap_normalize(text) == AddressParser._normalize_string(text), repr(text)
    text = (
        "Send it to 1777 Kramer Court, Johnsonfurt, NE 80119 or to Flat 3, 12 Elm Grove, Leeds LS1 4AP;\n"
        "the office at 250 Yonge Street,\nToronto, ON M5B 2L7 \u2014 or 10 Downing Street, London SW1A 2AA."
    )
    for country in ("US", "GB", "CA"):
        ours = [m.group("full_address").strip(" ,;:") for m in _pyap_grammar(country).finditer(_pyap_normalize(text))]
        assert ours == [a.full_address for a in pyap.parse(text, country=country)], country
        assert ours  # every grammar finds something here
