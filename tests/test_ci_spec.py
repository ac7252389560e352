"""The optional `ci` section: exact GitHub subjects, one line per problem with its config path."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from infra.stackfile import error_lines
from tests.test_spec import spec

REPO = "acme/ml-platform-stacks"


def errors(cloud="aws", **ci) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        spec(cloud, "staging", ci=ci)
    return error_lines(exc.value)


def test_ci_is_optional_and_off_by_default():
    assert spec("aws", "staging").ci is None


def test_defaults_deploy_main_and_preview_pull_requests():
    ci = spec("gcp", "staging", ci={"repository": REPO, "repository_id": 1, "repository_owner_id": 2}).ci
    assert ci.deploy_subjects == [f"repo:{REPO}:ref:refs/heads/main"]
    assert ci.preview_subjects == [f"repo:{REPO}:pull_request"]


def test_environments_become_environment_subjects():
    ci = spec("azure", "staging", ci={"repository": REPO, "environments": ["staging"]}).ci
    assert f"repo:{REPO}:environment:staging" in ci.deploy_subjects


def test_previews_can_be_switched_off():
    assert spec("aws", "staging", ci={"repository": REPO, "pull_request_previews": False}).ci.preview_subjects == []


def test_repository_must_be_owner_slash_name():
    assert errors(repository="ml-platform-stacks") == [
        "mlops:spec.ci.repository: invalid format: use the GitHub repository as owner/name, e.g. "
        "acme/ml-platform-stacks (got 'ml-platform-stacks')"
    ]


def test_repository_wildcard_is_rejected():
    assert errors(repository="acme/*")[0].startswith("mlops:spec.ci.repository: invalid format")


def test_deploy_branches_must_not_be_empty():
    assert errors(repository=REPO, deploy_branches=[]) == [
        "mlops:spec.ci.deploy_branches: at least one deploy branch is required (e.g. [main]); "
        "remove the ci section to create no CI identities"
    ]


def test_branch_wildcards_are_rejected():
    assert errors(repository=REPO, deploy_branches=["release/*"])[0].startswith(
        "mlops:spec.ci.deploy_branches[0]: invalid format: use an exact branch name"
    )


def test_duplicate_branches_name_the_index():
    assert errors(repository=REPO, deploy_branches=["main", "main"]) == [
        "mlops:spec.ci.deploy_branches[1]: duplicate 'main'"
    ]


def test_full_ref_is_rejected_with_a_fix():
    assert errors(repository=REPO, deploy_branches=["refs/heads/main"]) == [
        "mlops:spec.ci.deploy_branches[0]: give the branch name without refs/heads/ (got 'refs/heads/main')"
    ]


def test_environment_wildcards_are_rejected():
    assert errors(repository=REPO, environments=["prod*"])[0].startswith(
        "mlops:spec.ci.environments[0]: invalid format: use an exact GitHub environment name"
    )


def test_aws_provider_arn_only_on_aws():
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    assert errors("gcp", repository=REPO, repository_id=1, repository_owner_id=2, aws_oidc_provider_arn=arn) == [
        "mlops:spec.ci.aws_oidc_provider_arn: aws_oidc_provider_arn does not apply to a GCP stack; remove it"
    ]


def test_aws_provider_arn_must_be_the_github_provider():
    arn = "arn:aws:iam::123456789012:oidc-provider/example.com"
    assert errors(repository=REPO, aws_oidc_provider_arn=arn)[0].startswith(
        "mlops:spec.ci.aws_oidc_provider_arn: invalid format"
    )


def test_state_key_must_match_the_cloud():
    assert errors(repository=REPO, state_key="projects/acme-1/locations/global/keyRings/r/cryptoKeys/k") == [
        "mlops:spec.ci.state_key: 'projects/acme-1/locations/global/keyRings/r/cryptoKeys/k' is not a valid aws "
        "secrets key; expected a KMS key ARN, e.g. arn:aws:kms:us-east-1:123456789012:key/<key id>"
    ]


def test_state_backend_fields_do_not_apply_to_azure():
    assert errors("azure", repository=REPO, state_bucket="state") == [
        "mlops:spec.ci.state_bucket: state_bucket applies to aws and gcp stacks; on azure grant the CI identities "
        "access to the state storage account where it is bootstrapped, and remove it"
    ]


def test_unknown_ci_key_is_reported():
    assert errors(repository=REPO, branches=["main"])[0].startswith("mlops:spec.ci.branches: unknown key")


def test_gcp_needs_the_numeric_repository_ids():
    assert errors("gcp", repository=REPO) == [
        "mlops:spec.ci.repository_id: the GCP workload identity provider also checks the token's numeric "
        "repository_id (a renamed or re-created repository keeps the name, not the id); set it from "
        f"`gh api repos/{REPO} --jq .id`",
        "mlops:spec.ci.repository_owner_id: the GCP workload identity provider also checks the token's numeric "
        "repository_owner_id (a renamed or re-created repository keeps the name, not the id); set it from "
        f"`gh api repos/{REPO} --jq .owner.id`",
    ]
