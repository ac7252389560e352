"""The preview job authenticates with the stack's own read-only CI identity (never the deploy one)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "mlops-checks.yml"


def _preview() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["preview"]


def _spec_step() -> dict:
    return next(s for s in _preview()["steps"] if s.get("id") == "spec")


def _run_spec_step(stack: str, identities: dict, **env: str) -> dict[str, str]:
    script = re.search(r"<<'PY' >> \"\$GITHUB_OUTPUT\"\n(.*?)\n\s*PY\n", _spec_step()["run"], re.S).group(1)
    base = {k: "" for k in _spec_step()["env"]}
    full = {**os.environ, **base, "STACK": stack, "IDENTITIES": json.dumps(identities), "HAS_BACKEND": "true", **env}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=full, capture_output=True, text=True, check=True
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines())


def test_stack_preview_identity_is_used_for_aws():
    out = _run_spec_step(
        "aws-staging",
        {"aws-staging": {"aws_role_arn": "arn:aws:iam::1:role/p"}},
        AWS_ROLE_ARN="arn:aws:iam::1:role/cloud-wide",
    )
    assert (out["aws_role_arn"], out["identity"], out["ready"]) == ("arn:aws:iam::1:role/p", "stack", "true")


def test_cloud_wide_variables_are_the_fallback():
    out = _run_spec_step("gcp-staging", {}, GCP_WORKLOAD_IDENTITY_PROVIDER="projects/1/x", GCP_SERVICE_ACCOUNT="sa@x")
    assert (out["gcp_service_account"], out["identity"], out["ready"]) == ("sa@x", "cloud-wide", "true")


def test_not_ready_without_an_identity():
    assert _run_spec_step("azure-staging", {})["ready"] == "false"


def test_auth_steps_take_the_resolved_identity():
    steps = {s.get("uses", "").split("@")[0]: s for s in _preview()["steps"]}
    assert (
        steps["aws-actions/configure-aws-credentials"]["with"]["role-to-assume"]
        == "${{ steps.spec.outputs.aws_role_arn }}"
    )
    assert steps["azure/login"]["with"]["client-id"] == "${{ steps.spec.outputs.azure_client_id }}"
    assert (
        steps["google-github-actions/auth"]["with"]["service_account"]
        == "${{ steps.spec.outputs.gcp_service_account }}"
    )


def test_pull_request_workflow_never_uses_deploy_identities():
    assert "ci_deploy" not in json.dumps(yaml.safe_load(WORKFLOW.read_text())["jobs"])


def test_preview_runs_read_only_pulumi_commands():
    runs = "\n".join(s.get("run", "") for s in _preview()["steps"])
    assert "pulumi preview" in runs and "pulumi up" not in runs and "--refresh" not in runs
