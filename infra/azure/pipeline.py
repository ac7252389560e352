"""Pipeline: the code the stack uploads and the Azure ML assets built on it, so the first
retraining run on a fresh subscription works with no manual upload.

* a `code` storage account holding only content-addressed code: the workload files under
  `workload/<sha16>/` (an Azure ML code asset is a folder) and the retraining function's package;
* the code asset, the command component `retrain-<model>-train` that runs
  `python -m <workload> train`, and the pipeline component `retrain-<model>` the retraining
  function submits; its `model` output is registered by the run as a new version of the model
  (with `baseline.json` and `metrics.json` in it), which `mlops promote` then names;
* the reference data of the served version as an MLTable data asset, the drift monitor's
  comparison (`reference/<model>/<version>/`, written by the run that trained that version).

The code account has shared keys off like every account: pulumi-azure-native v3 uploads blobs
with the deployer's Entra ID token (its azcore backend, the default:
provider/pkg/resources/customresources/custom_storage_azidentity.go), so the deployer needs Storage
Blob Data Contributor on it, granted here before the first upload (the principal that ran the first
`pulumi up` keeps it; the CI deploy identity gets it from CiIdentity). In private stacks the account
has no public endpoint like every account: `pulumi up` then runs where the VNet's private endpoints
resolve (a runner in or peered with the VNet).
"""

from __future__ import annotations

from pathlib import Path

import pulumi
from pulumi_azure_native import authorization, storage
from pulumi_azure_native import machinelearningservices as ml

from infra import code_assets
from infra.azure import roles
from infra.azure.base import Client, WorkspaceScope, child, served_version, stateful
from infra.azure.datalake import CMK_SCOPE, cmk_encryption_scope, secure_account
from infra.azure.retraining import TRAINING_DATA
from infra.context import StackContext

RUNTIME = Path(__file__).resolve().parent / "runtime"
CODE_CONTAINERS = ("workload", "function", "reference")
# Flex Consumption runs the package blob of its deployment container
# (learn.microsoft.com/azure/azure-functions/flex-consumption-how-to, "Deploy your code project").
FUNCTION_PACKAGE = "released-package.zip"
SKLEARN_ENVIRONMENT = "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"


def reference_path(model: str, version: str) -> str:
    """Where the run that trained `version` writes its training sample for the drift monitor."""
    return f"reference/{model}/{version}/"


def mltable(folder_uri: str) -> str:
    """An MLTable over the CSV files of a lake folder (absolute, so the file can live elsewhere)."""
    return (
        f"paths:\n  - pattern: {folder_uri.rstrip('/')}/*.csv\n"
        "transformations:\n  - read_delimited:\n      delimiter: ','\n      header: all_files_same_headers\n"
    )


def command_component(name: str, version: str, code_id: str, environment: str, package: str) -> dict:
    return {
        "$schema": "https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json",
        "name": name,
        "version": version,
        "type": "command",
        "display_name": "Train, evaluate (quality gate), baseline",
        "code": code_id,
        "environment": environment,
        # The newest CSV of the data folder (windows land as ingest/yyyy/mm/dd/window-HHMM.csv).
        "command": f"python -m {package} train --data \"$(find ${{{{inputs.training_data}}}} -name '*.csv' | sort | tail -1)\" "
        "--out ${{outputs.model_output}}",
        "inputs": {"training_data": {"type": "uri_folder"}},
        "outputs": {"model_output": {"type": "custom_model"}},
    }


def pipeline_component(name: str, version: str, train_component: str, training_data: str) -> dict:
    return {
        "$schema": "https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json",
        "name": name,
        "version": version,
        "type": "pipeline",
        "display_name": "Retrain on the latest data window",
        "inputs": {"training_data": {"type": "uri_folder", "default": training_data}},
        # A named output of type custom_model registers as a model version when the run ends.
        "outputs": {"model": {"type": "custom_model"}},
        "jobs": {
            "train": {
                "type": "command",
                "component": train_component,
                "inputs": {"training_data": "${{parent.inputs.training_data}}"},
                "outputs": {"model_output": "${{parent.outputs.model}}"},
            }
        },
    }


class Pipeline(pulumi.ComponentResource):
    """`function_package_url` (the function's deployment container), `code_account_id`,
    `pipeline_component` (azureml:<name>@latest), `reference_data_id` (the monitor's reference asset,
    azureml:<name>:<version>; None without a served version)."""

    def __init__(
        self,
        name: str,
        ctx: StackContext,
        resource_group_name: pulumi.Input[str],
        *,
        workspace_name: pulumi.Input[str],
        workspace_id: pulumi.Input[str],
        monitoring_datastore: pulumi.Input[str],
        client: Client,
        cmk_key_id: pulumi.Input[str] | None = None,
        cmk_key_uri: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlops:azure:Pipeline", name, None, opts)
        spec = ctx.spec
        model = spec.serving.model_name or "model"
        common: WorkspaceScope = {"workspace_name": workspace_name, "resource_group_name": resource_group_name}
        self.account = secure_account(f"{name}-code", ctx, "code", resource_group_name, stateful(ctx, self))
        self.code_account_id = self.account.id
        scope = (
            cmk_encryption_scope(self, name, ctx, resource_group_name, client, self.account, cmk_key_id, cmk_key_uri)
            if cmk_key_id is not None
            else None
        )
        pinned = {"default_encryption_scope": CMK_SCOPE, "deny_encryption_scope_override": True} if scope else {}
        uploader = authorization.RoleAssignment(
            f"{name}-deployer-upload",
            principal_id=client.object_id,
            role_definition_id=client.subscription_id.apply(
                lambda sub: roles.definition_id(sub, roles.STORAGE_BLOB_DATA_CONTRIBUTOR)
            ),
            scope=self.account.id,
            description="The principal that first deployed the stack uploads its code (Entra ID, no keys)",
            # Whoever runs later (CI) has its own grant from CiIdentity; never re-point this one.
            opts=child(self, ignore_changes=["principalId"]),
        )
        blob_endpoint = self.account.primary_endpoints.apply(lambda e: e.blob)
        self.containers = containers = {
            c: storage.BlobContainer(
                f"{name}-{c}",
                account_name=self.account.name,
                resource_group_name=resource_group_name,
                container_name=c,
                public_access=storage.PublicAccess.NONE,
                **pinned,
                opts=child(self, depends_on=[scope] if scope else []),
            )
            for c in CODE_CONTAINERS
        }

        workload = code_assets.bundle(spec.training.workload)
        prefix = f"{workload.short_hash}/"
        for path in sorted(workload.files):
            storage.Blob(
                f"{name}-workload-{path}",
                account_name=self.account.name,
                resource_group_name=resource_group_name,
                container_name=containers["workload"].name,
                blob_name=prefix + path,
                source=pulumi.FileAsset(str(workload.files[path])),
                opts=child(self, depends_on=[uploader]),
            )
        function = code_assets.bundle(spec.training.workload, RUNTIME)
        self.function_package = storage.Blob(
            f"{name}-function-package",
            account_name=self.account.name,
            resource_group_name=resource_group_name,
            container_name=containers["function"].name,
            blob_name=FUNCTION_PACKAGE,
            source=function.asset_archive(),
            metadata={"sha256": function.sha256},
            opts=child(self, depends_on=[uploader]),
        )
        self.after_upload_grant = [uploader]
        self.function_package_url = pulumi.Output.concat(blob_endpoint, containers["function"].name)
        self.function_container_id = containers["function"].id
        self.workload_container_id = containers["workload"].id

        code = ml.CodeContainer(
            f"{name}-code-asset",
            name=f"{model}-workload",
            properties={"description": "Training workload (content-addressed)"},
            **common,
            opts=child(self),
        )
        code_version = ml.CodeVersion(
            f"{name}-code-version",
            name=code.name,
            version=workload.short_hash,
            properties={"code_uri": pulumi.Output.concat(blob_endpoint, containers["workload"].name, "/", prefix)},
            **common,
            opts=child(self),
        )
        self.code_version_id = code_version.id
        environment = spec.training.image or SKLEARN_ENVIRONMENT
        train_name, pipeline_name = f"retrain-{model}-train", f"retrain-{model}"
        train = ml.ComponentContainer(
            f"{name}-train-component",
            name=train_name,
            properties={"description": "Training step"},
            **common,
            opts=child(self),
        )
        train_version = ml.ComponentVersion(
            f"{name}-train-component-version",
            name=train.name,
            version=workload.short_hash,
            properties={
                "component_spec": code_version.id.apply(
                    lambda cid: command_component(
                        train_name, workload.short_hash, cid, environment, spec.training.workload.package
                    )
                )
            },
            **common,
            opts=child(self),
        )
        pipeline = ml.ComponentContainer(
            f"{name}-pipeline-component",
            name=pipeline_name,
            properties={"description": "Retraining pipeline"},
            **common,
            opts=child(self),
        )
        training_data = TRAINING_DATA  # the function passes the same folder for drift-triggered runs
        ml.ComponentVersion(
            f"{name}-pipeline-component-version",
            name=pipeline.name,
            version=workload.short_hash,
            properties={
                "component_spec": train_version.name.apply(
                    lambda train_asset: pipeline_component(
                        pipeline_name,
                        workload.short_hash,
                        f"azureml:{train_asset}:{workload.short_hash}",
                        training_data,
                    )
                )
            },
            **common,
            opts=child(self),
        )
        self.pipeline_component = f"azureml:{pipeline_name}@latest"
        self.reference_data_id = None
        version = served_version(ctx)
        if version is not None:
            self.reference_data_id = self._reference_data(
                name, common, model, version.version, monitoring_datastore, blob_endpoint, resource_group_name
            )
        self.register_outputs({"code_account_id": self.code_account_id})

    def _reference_data(self, name, common, model, version, datastore, blob_endpoint, resource_group_name):
        """The MLTable over the served version's training sample in the lake (the monitor's
        reference); its MLTable file is uploaded here, next to the code."""
        path = reference_path(model, version)
        folder = pulumi.Output.concat("azureml://datastores/", datastore, "/paths/", path)
        table = storage.Blob(
            f"{name}-reference-mltable",
            account_name=self.account.name,
            resource_group_name=resource_group_name,
            container_name=self.containers["reference"].name,
            blob_name=f"{path}MLTable",
            source=folder.apply(lambda f: pulumi.StringAsset(mltable(f))),
            opts=child(self, depends_on=self.after_upload_grant),
        )
        container = ml.DataContainer(
            f"{name}-reference",
            name=f"{model}-reference",
            properties={"data_type": "mltable", "description": "Training samples of the served versions"},
            **common,
            opts=child(self),
        )
        data = ml.DataVersion(
            f"{name}-reference-version",
            name=container.name,
            version=version,
            properties=ml.MLTableDataArgs(
                data_type="mltable",
                data_uri=pulumi.Output.concat(blob_endpoint, self.containers["reference"].name, "/", path),
                description=f"Reference data of {model} version {version} (CSV written by its training run)",
            ),
            **common,
            opts=child(self, depends_on=[table]),
        )
        # The monitor names the asset (azureml:<name>:<version>) once it exists.
        return data.id.apply(lambda _: f"azureml:{model}-reference:{version}")
