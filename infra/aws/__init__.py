"""AWS reference architecture: SageMaker-based MLOps platform.

Importing this package must not import pulumi_aws (the core runs without cloud SDKs); the
components live in submodules that `infra.aws.program` imports when an AWS stack is planned.
"""
