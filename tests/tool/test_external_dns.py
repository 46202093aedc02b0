"""deploy/external_dns.py's check of public DNS, with a stand-in resolver (never the internet's)."""

import socket

import pytest

from flask_fargate import external_dns
from flask_fargate.external_dns import Answer

TARGET = "dualstack.site-1.eu-west-1.elb.amazonaws.com"
BALANCER = frozenset({"192.0.2.10", "2001:db8::10"})
PROXY = frozenset({"198.51.100.7"})  # a proxying provider's own address, or an old server's


def resolver(*rounds):
    """A resolver answering from dicts of name -> addresses, the next dict each time the load
    balancer's name is asked (the last one stays); a name's CNAME to the load balancer is given
    as TARGET, an exception raises it."""
    asked = []

    def resolve(name):
        if name == TARGET:
            asked.append(name)
        answers = rounds[min(len(asked), len(rounds)) - 1]
        answer = answers.get(name, frozenset())
        if isinstance(answer, Exception):
            raise answer
        if answer == TARGET:
            return Answer(f"{TARGET}.", answers[TARGET])
        return Answer(external_dns.fqdn(name), frozenset(answer))

    return resolve


def states(*rounds, domain="example.com"):
    checks = external_dns.check_site_names(domain, TARGET, resolver(*rounds))
    return {check["name"]: check["state"] for check in checks}


def test_www_is_ok_by_its_cname_and_the_apex_by_any_address_of_the_load_balancer():
    # The apex's flattened record answers one of the addresses, as a cache may.
    answers = {TARGET: BALANCER, "example.com.": {"192.0.2.10"}, "www.example.com.": TARGET}
    assert states(answers) == {"example.com": "ok", "www.example.com": "ok"}


def test_the_apex_may_keep_an_address_of_its_own_beside_the_load_balancers():
    answers = {TARGET: BALANCER, "example.com.": BALANCER | PROXY, "www.example.com.": TARGET}
    assert states(answers)["example.com"] == "ok"


def test_a_domain_inside_a_zone_may_point_its_own_name_by_a_cname():
    answers = {TARGET: BALANCER, "shop.example.com.": TARGET, "www.shop.example.com.": TARGET}
    assert states(answers, domain="shop.example.com") == {
        "shop.example.com": "ok",
        "www.shop.example.com": "ok",
    }


def test_names_answering_elsewhere_mismatch_and_a_name_with_no_address_is_missing():
    # A proxied www answers the provider's addresses under its own name, even were they the
    # load balancer's: no CNAME to it is seen.
    answers = {TARGET: BALANCER, "example.com.": PROXY, "www.example.com.": BALANCER}
    assert states(answers) == {"example.com": "mismatch", "www.example.com": "mismatch"}
    assert states({TARGET: BALANCER}) == {"example.com": "missing", "www.example.com": "missing"}


def test_a_mismatch_is_asked_once_more_as_the_load_balancers_addresses_change():
    moved = frozenset({"192.0.2.99"})
    before = {TARGET: BALANCER, "example.com.": moved, "www.example.com.": TARGET}
    assert states(before, {**before, TARGET: moved})["example.com"] == "ok"


@pytest.mark.parametrize("balancer", [frozenset(), OSError("no DNS server answers")])
def test_nothing_is_judged_while_the_load_balancers_name_does_not_answer(balancer):
    answers = {TARGET: balancer, "example.com.": BALANCER, "www.example.com.": BALANCER}
    assert states(answers) == {"example.com": "unknown", "www.example.com": "unknown"}


def test_the_words_say_what_to_do_and_why_a_mismatch_may_be_none():
    answers = {TARGET: BALANCER, "example.com.": PROXY}
    checks = external_dns.check_site_names("example.com", TARGET, resolver(answers))
    assert [external_dns.check_words(check) for check in checks] == [
        f"mismatch: answers 198.51.100.7, not {TARGET} (cached? proxied?)",
        f"missing: point it at {TARGET} (`make ns`)",
    ]


def test_records_are_shown_in_full_for_a_zone_the_tool_does_not_guess(capsys):
    records = external_dns.site_records("shop.example.com", TARGET)
    external_dns.show_site(records, "shop.example.com")
    out = " ".join(capsys.readouterr().out.split())
    assert f"shop.example.com. CNAME, or ALIAS/ANAME at a zone apex {TARGET}." in out
    assert f"www.shop.example.com. CNAME {TARGET}." in out
    assert "relative to your zone there, leave the zone's name off" in out
    assert "If shop.example.com is your zone's apex" in out and "otherwise a CNAME" in out


def test_the_real_resolver_asks_the_full_name_and_reads_its_canonical_name(monkeypatch):
    asked = []

    def getaddrinfo(name, port, **kwargs):
        asked.append((name, kwargs["flags"]))
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, f"{TARGET}", ("192.0.2.10", 0)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::10", 0, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert external_dns.resolve("WWW.example.com") == Answer(f"{TARGET}.", BALANCER)
    # The final dot: no search domain of this machine is appended.
    assert asked == [("www.example.com.", socket.AI_CANONNAME)]


@pytest.mark.parametrize(
    ("error", "answer"), [(socket.EAI_NONAME, frozenset()), (socket.EAI_AGAIN, OSError)]
)
def test_the_real_resolver_tells_no_such_name_from_no_answer(monkeypatch, error, answer):
    def getaddrinfo(*args, **kwargs):
        raise socket.gaierror(error, "stand-in")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    if answer is OSError:
        with pytest.raises(OSError):
            external_dns.resolve("example.com")
    else:
        assert external_dns.resolve("example.com") == Answer("example.com.", answer)
