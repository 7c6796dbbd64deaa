"""The AWS CDK app that deploys postloop (see docs/deploy.md)."""
