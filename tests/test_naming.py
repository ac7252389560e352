"""Physical names: valid for every service, deterministic, collision-resistant (hypothesis)."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.naming import RULES, NamingError, gcp_label_key, gcp_label_value, physical_name

teams = st.from_regex(r"[a-z][a-z0-9]{0,10}(-[a-z0-9]{1,8}){0,3}", fullmatch=True).filter(lambda t: len(t) <= 24)
environments = st.sampled_from(["dev", "staging", "prod"])
purposes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_ ", min_size=1, max_size=40)
services = st.sampled_from(sorted(RULES))


@settings(max_examples=300)
@given(services, teams, environments, purposes)
def test_every_name_satisfies_its_service_rule(service, team, environment, purpose):
    try:
        name = physical_name(service, team, environment, purpose)
    except NamingError as exc:  # only for words a service forbids
        assert "google" in team or "goog" in team or team.startswith(("sthree", "xn", "amzn")), exc
        return
    rule = RULES[service]
    assert rule.min_len <= len(name) <= rule.max_len, name
    assert re.fullmatch(rule.pattern, name), name
    assert rule.check(name) == []


@given(services, teams, environments, purposes)
def test_names_are_deterministic(service, team, environment, purpose):
    try:
        first = physical_name(service, team, environment, purpose)
    except NamingError:
        return
    assert physical_name(service, team, environment, purpose) == first


@settings(max_examples=300)
@given(services, st.tuples(teams, environments, purposes), st.tuples(teams, environments, purposes))
def test_different_identities_get_different_names(service, a, b):
    if a == b:
        return
    try:
        assert physical_name(service, *a) != physical_name(service, *b)
    except NamingError:
        pass


def test_truncation_keeps_identities_apart():
    long_team = "a" * 24
    first = physical_name("azure_storage_account", long_team, "prod", "model-artifacts-one")
    second = physical_name("azure_storage_account", long_team, "prod", "model-artifacts-two")
    assert len(first) <= 24 and len(second) <= 24
    assert first != second


def test_environment_is_readable_in_names():
    assert "-prd-" in physical_name("s3_bucket", "fraud", "prod", "raw")
    assert physical_name("azure_storage_account", "fraud", "dev", "raw").startswith("frauddevraw")


def test_storage_account_names_are_lowercase_alphanumeric():
    name = physical_name("azure_storage_account", "Fraud-Detection", "staging", "Data_Lake")
    assert re.fullmatch(r"[a-z0-9]{3,24}", name), name


def test_key_vault_names_have_no_consecutive_hyphens():
    name = physical_name("azure_key_vault", "fraud", "dev", "--kv--")
    assert "--" not in name and name[0].isalpha()


def test_service_accounts_start_with_a_letter():
    name = physical_name("gcp_service_account", "9lives", "dev", "training")
    assert name[0].isalpha() and 6 <= len(name) <= 30


@pytest.mark.parametrize("team", ["google-ads", "googlers"])
def test_gcs_refuses_google_in_names(team):
    with pytest.raises(NamingError, match="google"):
        physical_name("gcs_bucket", team, "dev", "data")


def test_s3_refuses_reserved_prefixes():
    with pytest.raises(NamingError, match="sthree-"):
        physical_name("s3_bucket", "sthree-team", "dev", "data")


@given(st.text(max_size=100))
def test_gcp_label_values_obey_label_rules(value):
    assert re.fullmatch(r"[a-z0-9_-]{0,63}", gcp_label_value(value))


@given(st.text(min_size=1, max_size=100))
def test_gcp_label_keys_obey_label_rules(key):
    assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", gcp_label_key(key))
