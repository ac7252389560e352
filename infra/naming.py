"""Physical resource names that satisfy each cloud service's naming rules.

A name is built from (team, environment, purpose) plus a short hash of that exact triple, so it is
deterministic (same input, same name: no replacement on re-deploy) and collision-resistant (two
different triples never share a name, even after truncation or character stripping).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

ENV_SHORT = {"dev": "dev", "staging": "stg", "prod": "prd"}
HASH_LEN = 6


class NamingError(ValueError):
    """A valid physical name cannot be formed (e.g. a word the service forbids)."""


@dataclass(frozen=True)
class NameRule:
    """One service's naming rule. `charset` is a regex character class of allowed characters."""

    service: str
    min_len: int
    max_len: int
    charset: str
    separator: str = "-"
    lowercase: bool = True
    start_letter: bool = False
    forbidden_prefixes: tuple[str, ...] = ()
    forbidden_substrings: tuple[str, ...] = ()
    pattern: str = field(default="")  # full-match regex the final name must satisfy

    def check(self, name: str) -> list[str]:
        problems = []
        if not self.min_len <= len(name) <= self.max_len:
            problems.append(f"length {len(name)} outside {self.min_len}-{self.max_len}")
        if not re.fullmatch(self.pattern, name):
            problems.append(f"does not match {self.pattern}")
        for prefix in self.forbidden_prefixes:
            if name.startswith(prefix):
                problems.append(f"must not start with {prefix!r}")
        for word in self.forbidden_substrings:
            if word in name:
                problems.append(f"must not contain {word!r}")
        return problems


_ALNUM_DASH = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_LETTER_FIRST = r"[a-z](?:[a-z0-9-]*[a-z0-9])?"

RULES: dict[str, NameRule] = {
    rule.service: rule
    for rule in [
        # AWS
        NameRule(
            "s3_bucket", 3, 63, "a-z0-9-", pattern=_ALNUM_DASH, forbidden_prefixes=("xn--", "sthree-", "amzn-s3-demo-")
        ),
        NameRule("sagemaker", 1, 63, "a-z0-9-", pattern=_ALNUM_DASH),
        NameRule("iam_role", 1, 64, "a-z0-9-", pattern=_ALNUM_DASH),
        NameRule("lambda_function", 1, 64, "a-z0-9-", pattern=_ALNUM_DASH),
        NameRule("ecr_repository", 2, 256, "a-z0-9-", pattern=_ALNUM_DASH),
        NameRule("aws_generic", 1, 63, "a-z0-9-", pattern=_ALNUM_DASH),
        # Azure
        NameRule("azure_resource_group", 1, 90, "a-z0-9-", pattern=_ALNUM_DASH),
        NameRule("azure_storage_account", 3, 24, "a-z0-9", separator="", pattern=r"[a-z0-9]+"),
        NameRule("azure_key_vault", 3, 24, "a-z0-9-", start_letter=True, pattern=r"[a-z](?:[a-z0-9]|-(?!-))*[a-z0-9]"),
        NameRule("azure_container_registry", 5, 50, "a-z0-9", separator="", pattern=r"[a-z0-9]+"),
        NameRule("azure_ml_workspace", 3, 33, "a-z0-9-", pattern=_ALNUM_DASH),
        NameRule("azure_aks", 1, 63, "a-z0-9-", pattern=_ALNUM_DASH),
        NameRule("azure_generic", 1, 63, "a-z0-9-", pattern=_ALNUM_DASH),
        # GCP
        NameRule(
            "gcs_bucket",
            3,
            63,
            "a-z0-9-",
            pattern=_ALNUM_DASH,
            forbidden_prefixes=("goog",),
            forbidden_substrings=("google", "g00gle"),
        ),
        NameRule("gcp_service_account", 6, 30, "a-z0-9-", start_letter=True, pattern=_LETTER_FIRST),
        NameRule("gke_cluster", 1, 40, "a-z0-9-", start_letter=True, pattern=_LETTER_FIRST),
        NameRule("gcp_generic", 1, 63, "a-z0-9-", start_letter=True, pattern=_LETTER_FIRST),
    ]
}


def _digest(team: str, environment: str, purpose: str) -> str:
    return hashlib.sha256(f"{team}\0{environment}\0{purpose}".encode()).hexdigest()[:HASH_LEN]


def _clean(text: str, rule: NameRule) -> str:
    text = text.lower() if rule.lowercase else text
    text = re.sub(f"[^{rule.charset}]+", rule.separator, text)
    if rule.separator:
        text = re.sub(f"{re.escape(rule.separator)}+", rule.separator, text).strip(rule.separator)
    return text


def _fit(team: str, env: str, purpose: str, budget: int, sep: str) -> str:
    """Join the segments within `budget` characters, shortening team and purpose, never env."""
    segments = [s for s in (team, env, purpose) if s]
    if len(sep.join(segments)) <= budget:
        return sep.join(segments)
    room = budget - len(env) - 2 * len(sep)
    if room < 2:
        return env[:budget]
    team_room = max(1, min(len(team), (room + 1) // 2, room - min(len(purpose), room // 2)))
    purpose_room = max(0, room - team_room)
    parts = [
        team[:team_room].strip(sep) if sep else team[:team_room],
        env,
        purpose[:purpose_room].strip(sep) if sep else purpose[:purpose_room],
    ]
    return sep.join(p for p in parts if p)


def physical_name(service: str, team: str, environment: str, purpose: str) -> str:
    """A valid, deterministic, collision-resistant name for `service` (a key of RULES)."""
    rule = RULES[service]
    sep = rule.separator
    suffix = _digest(team, environment, purpose)
    env = _clean(ENV_SHORT.get(environment, environment), rule)
    body = _fit(_clean(team, rule), env, _clean(purpose, rule), rule.max_len - HASH_LEN - len(sep), sep)
    if rule.start_letter and not body[:1].isalpha():
        body = ("m" + sep + body)[: rule.max_len - HASH_LEN - len(sep)].rstrip(sep)
    name = f"{body}{sep}{suffix}" if body else f"m{suffix}"
    problems = rule.check(name)
    if problems:
        raise NamingError(f"cannot form a valid {service} name from team {team!r}: {name!r} {'; '.join(problems)}")
    return name


@dataclass(frozen=True)
class Namer:
    """Physical names for one stack: `namer.name("s3_bucket", "raw-data")`."""

    team: str
    environment: str

    def name(self, service: str, purpose: str) -> str:
        return physical_name(service, self.team, self.environment, purpose)


def gcp_label_value(value: str) -> str:
    """A GCP label value: lowercase letters, digits, `_` and `-`, at most 63 characters."""
    return re.sub(r"[^a-z0-9_-]", "_", value.lower())[:63]


def gcp_label_key(key: str) -> str:
    """A GCP label key: as a value, and starting with a lowercase letter."""
    cleaned = gcp_label_value(key)
    return cleaned if cleaned[:1].isalpha() else f"k{cleaned}"[:63]
