"""deploy/external_dns.py's check of public DNS, with a stand-in resolver (never the internet's)."""

import socket

import pytest

from deploy import external_dns

TARGET = "site-1.eu-west-1.elb.amazonaws.com"
BALANCER = frozenset({"192.0.2.10", "2001:db8::10"})


def resolver(answers):
    """A resolver answering from a dict; a name given as an exception raises it."""

    def resolve(name):
        answer = answers.get(name, frozenset())
        if isinstance(answer, Exception):
            raise answer
        return answer

    return resolve


def states(answers):
    checks = external_dns.check_site_names("example.com", TARGET, resolver(answers))
    return {check["name"]: check["state"] for check in checks}


def test_names_answering_the_load_balancers_addresses_are_ok():
    answers = {TARGET: BALANCER, "example.com": {"192.0.2.10"}, "www.example.com": BALANCER}
    assert states(answers) == {"example.com": "ok", "www.example.com": "ok"}


def test_a_name_with_no_address_is_missing_and_one_with_another_address_is_wrong():
    # The apex keeps the old server's A record beside the load balancer's addresses.
    answers = {TARGET: BALANCER, "example.com": BALANCER | {"198.51.100.7"}}
    assert states(answers) == {"example.com": "wrong", "www.example.com": "missing"}


@pytest.mark.parametrize("balancer", [frozenset(), OSError("no DNS server answers")])
def test_nothing_is_judged_while_the_load_balancers_name_does_not_answer(balancer):
    answers = {TARGET: balancer, "example.com": BALANCER, "www.example.com": BALANCER}
    assert states(answers) == {"example.com": "unknown", "www.example.com": "unknown"}


def test_the_words_name_the_record_to_create():
    answers = {TARGET: BALANCER, "example.com": {"198.51.100.7"}}
    checks = external_dns.check_site_names("example.com", TARGET, resolver(answers))
    assert [external_dns.check_words(check) for check in checks] == [
        f"wrong: answers 198.51.100.7, not only {TARGET}'s addresses",
        f"missing: create CNAME to {TARGET}",
    ]


def test_a_record_names_its_host_for_providers_that_add_the_domain():
    records = [
        *external_dns.site_records("example.com", TARGET),
        external_dns.Record("_a1.example.com.", "CNAME", "_b2.acm-validations.aws."),
    ]
    assert [record.host("example.com") for record in records] == ["@", "www", "_a1"]


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
        assert external_dns.resolve("example.com") == answer
