"""The nested-key checker catches what Pulumi mocks let through."""

import pytest

from infra.engine.sdk_check import unknown_keys


def test_misspelled_nested_key_is_reported():
    pytest.importorskip("pulumi_aws")
    problems = unknown_keys(
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        {"productionVariants": [{"variantNam": "main", "modelName": "m"}]},
    )
    assert len(problems) == 1 and problems[0].startswith("productionVariants[0].variantNam: unknown key")


def test_correct_keys_pass():
    pytest.importorskip("pulumi_aws")
    assert (
        unknown_keys(
            "aws:s3/bucketVersioning:BucketVersioning",
            {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}},
        )
        == []
    )


def test_resource_args_are_not_confused_with_same_named_input_types():
    pytest.importorskip("pulumi_aws")
    problems = unknown_keys("aws:s3/bucketVersioning:BucketVersioning", {"enabled": True})
    assert problems and "unknown key" in problems[0]


def test_unknown_resource_type_is_reported():
    pytest.importorskip("pulumi_gcp")
    assert "does not exist" in unknown_keys("gcp:storage/buckt:Bucket", {})[0]


def test_discriminated_unions_accept_any_member():
    pytest.importorskip("pulumi_azure_native")
    good = {"properties": {"computeType": "AmlCompute", "properties": {"vmPriority": "LowPriority"}}}
    bad = {"properties": {"computeType": "AmlCompute", "properties": {"vmPriorit": "LowPriority"}}}
    assert unknown_keys("azure-native:machinelearningservices:Compute", good) == []
    assert "vmPriorit" in unknown_keys("azure-native:machinelearningservices:Compute", bad)[0]
