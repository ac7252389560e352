"""The feature online store is opt-in: it bills Bigtable nodes whether or not anything reads it."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_gcp")

from tests.gcp.helpers import STACKS  # noqa: E402

STORE = "gcp:vertex/aiFeatureOnlineStore:AiFeatureOnlineStore"
VIEW = "gcp:vertex/aiFeatureOnlineStoreFeatureview:AiFeatureOnlineStoreFeatureview"


@pytest.mark.parametrize("stack", STACKS)
def test_no_reference_stack_pays_for_an_online_store_it_serves_nothing_from(plan_for, stack):
    plan = plan_for(stack)
    if plan.of_type(STORE):
        assert plan.of_type(VIEW), f"{stack} creates a feature online store with no feature view"
