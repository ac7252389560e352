"""State-backend bootstrap against moto: creation, idempotent re-runs, repair of drifted settings."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pulumi_aws")
moto = pytest.importorskip("moto")

import boto3  # noqa: E402

from infra.aws.bootstrap import BootstrapError, Clients, bootstrap  # noqa: E402

BUCKET, REGION = "acme-pulumi-state", "eu-west-1"


@pytest.fixture
def session(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        yield boto3.Session(region_name=REGION)


def _s3(session):
    return session.client("s3", region_name=REGION)


def test_first_run_returns_login_url_and_secrets_provider(session):
    result = bootstrap(session, BUCKET, REGION)
    assert result.login_url == f"s3://{BUCKET}?region={REGION}&awssdk=v2"
    assert result.secrets_provider == f"awskms://alias/pulumi-state?region={REGION}"
    assert result.changed and f"bucket {BUCKET}" in result.created and "kms key alias/pulumi-state" in result.created


def test_bucket_is_in_the_region_versioned_and_kms_encrypted(session):
    result = bootstrap(session, BUCKET, REGION)
    s3 = _s3(session)
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == REGION
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": result.key_arn}
    assert rule["BucketKeyEnabled"] is True


def test_bucket_blocks_public_access_and_enforces_owner(session):
    bootstrap(session, BUCKET, REGION)
    s3 = _s3(session)
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert all(block[k] for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"))
    rules = s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_bucket_policy_denies_non_tls(session):
    bootstrap(session, BUCKET, REGION)
    (statement,) = json.loads(_s3(session).get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_key_rotates_and_alias_resolves(session):
    result = bootstrap(session, BUCKET, REGION, key_alias="alias/acme-state")
    kms = session.client("kms", region_name=REGION)
    assert kms.describe_key(KeyId="alias/acme-state")["KeyMetadata"]["Arn"] == result.key_arn
    assert kms.get_key_rotation_status(KeyId=result.key_arn)["KeyRotationEnabled"] is True


def test_rerun_changes_nothing_and_reports_what_existed(session):
    first = bootstrap(session, BUCKET, REGION)
    again = bootstrap(session, BUCKET, REGION)
    assert (again.created, again.updated, again.changed) == ([], [], False)
    assert again.key_arn == first.key_arn
    assert sorted(again.existed) == sorted(first.created)
    assert len(session.client("kms", region_name=REGION).list_keys()["Keys"]) == 1


def test_existing_bucket_is_repaired_and_its_policy_kept(session):
    s3 = _s3(session)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    own = {
        "Sid": "Readers",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [own]}))
    result = bootstrap(session, BUCKET, REGION)
    assert f"bucket {BUCKET}" in result.existed
    assert {"versioning", "sse-kms encryption", "tls-only bucket policy"} <= set(result.updated)
    sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]]
    assert sids == ["Readers", "DenyInsecureTransport"]


def test_accepts_explicit_clients_and_us_east_1(session):
    clients = Clients(
        s3=session.client("s3", region_name="us-east-1"), kms=session.client("kms", region_name="us-east-1")
    )
    result = bootstrap(clients, "acme-state-use1", "us-east-1")
    assert result.secrets_provider.endswith("?region=us-east-1") and result.changed


def test_alias_must_be_an_alias(session):
    with pytest.raises(ValueError, match="alias/"):
        bootstrap(session, BUCKET, REGION, key_alias="pulumi-state")


def test_bucket_owned_elsewhere_is_a_clear_error():
    class Forbidden:
        def head_bucket(self, Bucket):
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadBucket")

    class Kms:
        def describe_key(self, KeyId):
            return {"KeyMetadata": {"Arn": "arn:aws:kms:eu-west-1:123456789012:key/k"}}

        def get_key_rotation_status(self, KeyId):
            return {"KeyRotationEnabled": True}

    with pytest.raises(BootstrapError, match="not accessible"):
        bootstrap({"s3": Forbidden(), "kms": Kms()}, BUCKET, REGION)
