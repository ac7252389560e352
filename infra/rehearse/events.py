"""EventBridge event-pattern matching (the subset rules in this project use): exact values,
nested objects, and `prefix` / `anything-but` matchers.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
"""

from __future__ import annotations

from typing import Any


def _value_matches(allowed: list, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for rule in allowed:
        for v in values:
            if isinstance(rule, dict):
                if "prefix" in rule and isinstance(v, str) and v.startswith(rule["prefix"]):
                    return True
                if "anything-but" in rule:
                    excluded = rule["anything-but"]
                    if v not in (excluded if isinstance(excluded, list) else [excluded]):
                        return True
            elif rule == v:
                return True
    return False


def matches(pattern: dict, event: dict) -> bool:
    for key, rule in pattern.items():
        if key not in event:
            return False
        if isinstance(rule, dict):
            if not isinstance(event[key], dict) or not matches(rule, event[key]):
                return False
        elif not _value_matches(rule, event[key]):
            return False
    return True
