"""First-apply ordering: what a fresh account's first `pulumi up` needs to exist before what."""

from __future__ import annotations

import pytest

pytest.importorskip("pulumi_aws")

from tests.aws.helpers import STACKS, by_name  # noqa: E402

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    "user,policy", [("training-pipeline", "identity-sagemaker-policy"), ("studio-domain", "identity-studio-policy")]
)
def test_users_of_the_sagemaker_role_wait_for_its_policy(plan_for, stack, user, policy):
    resources = by_name(plan_for(stack))
    assert resources[policy].urn in resources[user].dependencies, f"{resources[user].urn} starts before {policy}"


@pytest.mark.parametrize("stack", STACKS)
def test_retraining_function_waits_for_its_role_policy(plan_for, stack):
    resources = by_name(plan_for(stack))
    function = resources["retraining-function"]
    assert resources["identity-retrain-policy"].urn in function.dependencies, function.urn
