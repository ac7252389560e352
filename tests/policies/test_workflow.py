"""The CI workflow runs the offline check and the real preview with this pack."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "mlops-checks.yml"


def _load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _runs(job: dict) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_offline_job_validates_checks_comments_and_fails_on_mandatory():
    job = _load()["jobs"]["offline"]
    runs = _runs(job)
    assert "make setup" in runs and "mlops validate --all" in runs  # the locked set (uv.lock)
    assert "mlops check --all --format markdown > report.md" in runs
    assert any(s.get("uses", "").startswith("marocchino/sticky-pull-request-comment") for s in job["steps"])
    assert any("exit_code != '0'" in str(s.get("if", "")) for s in job["steps"])
    assert "mlops check --all --format sarif > mlops-check.sarif" in runs
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert upload["with"]["sarif_file"] == "mlops-check.sarif" and job["permissions"]["security-events"] == "write"
    python = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"


def test_preview_job_uses_oidc_and_the_policy_pack_for_changed_stacks():
    workflow = _load()
    assert "stacks/Pulumi.*.yaml" in str(workflow["jobs"]["changed-stacks"]["steps"])
    preview = workflow["jobs"]["preview"]
    assert preview["permissions"]["id-token"] == "write"
    assert "--policy-pack policies" in _runs(preview) and "--policy-pack-config pack-config.json" in _runs(preview)
    assert 'python -m policies.stack_config "$STACK" > pack-config.json' in _runs(preview)
    uses = [s.get("uses", "") for s in preview["steps"]]
    for action in (
        "aws-actions/configure-aws-credentials",
        "azure/login",
        "google-github-actions/auth",
        "pulumi/actions",
    ):
        assert any(u.startswith(action) for u in uses), action
    assert "vars.AWS_ROLE_ARN" in preview["if"]
