"""The VPC and the model cache (ElastiCache Serverless for Valkey), in one of three layouts.

`nat="none"` (the default): the VPC has isolated subnets only (no internet gateway, no NAT, no
public address) and one function in it, the cache function, which plan and learn invoke for the
model cache. It calls no AWS API, and its security group lets it reach the cache and nothing
else, so it needs no way out (docs/decisions.md, "Only the cache function sits in the VPC").

`nat="gateway"` or `"instance"`: public and private subnets and one NAT; plan and learn run in
the private subnets and use the cache directly, reaching X, OpenAI and AWS through the NAT and
DynamoDB through a gateway endpoint. The other functions stay outside in every layout.
"""
from __future__ import annotations

from aws_cdk import Fn, RemovalPolicy, aws_ec2 as ec2, aws_elasticache as elasticache, aws_logs as logs
from constructs import Construct

from postloop_infra.names import CACHE_NAME, CACHE_PORT
from postloop_infra.nag import acknowledge
from postloop_infra.options import NAT_OPTIONS

NAT_INSTANCE_TYPE = "t4g.nano"
HTTPS = ec2.Port.tcp(443)


class Network(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, nat: str, vpc_functions: tuple[str, ...]) -> None:
        super().__init__(scope, construct_id)
        if nat not in NAT_OPTIONS:
            raise ValueError(f"nat must be one of {', '.join(NAT_OPTIONS)}, got {nat!r}")
        self.nat = nat
        self.nat_provider = None
        common = {
            "max_azs": 2,  # the serverless cache needs subnets in two zones
            # Nothing uses the default security group; restricting it would add a custom
            # resource (a Lambda function and its role) to every deploy.
            "restrict_default_security_group": False,
        }
        if nat == "none":
            self.vpc = ec2.Vpc(
                self, "Vpc", **common,
                nat_gateways=0,
                # Isolated: no route out, so no internet gateway, NAT or public address is created.
                subnet_configuration=[
                    ec2.SubnetConfiguration(name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                                            cidr_mask=24),
                ],
            )
            self.function_subnets = self.vpc.isolated_subnets
        else:
            self.nat_provider = (
                ec2.NatProvider.gateway() if nat == "gateway" else
                ec2.NatProvider.instance_v2(
                    instance_type=ec2.InstanceType(NAT_INSTANCE_TYPE),
                    machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
                    # Nothing may open a connection from the internet to the instance.
                    default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
                )
            )
            self.vpc = ec2.Vpc(
                self, "Vpc", **common,
                # One NAT for both zones: the traffic is a few calls an hour, and a second NAT
                # would double the largest fixed cost for availability this bot does not need.
                nat_gateways=1,
                nat_gateway_provider=self.nat_provider,
                subnet_configuration=[
                    ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                    ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                                            cidr_mask=24),
                ],
                gateway_endpoints={
                    # DynamoDB traffic stays on AWS's network and off the NAT's per-GB charge.
                    "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                },
            )
            self.function_subnets = self.vpc.private_subnets
        # Rejected traffic only: enough to debug a security group, cheap to ingest.
        flow_log_group = logs.LogGroup(self, "FlowLogs", retention=logs.RetentionDays.ONE_MONTH,
                                       removal_policy=RemovalPolicy.DESTROY)
        self.vpc.add_flow_log("FlowLog", destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
                              traffic_type=ec2.FlowLogTrafficType.REJECT)

        self.cache_security_group = ec2.SecurityGroup(
            self, "Cache", vpc=self.vpc, allow_all_outbound=False,
            description="postloop model cache: only the functions that read or write models")
        # Each function in the VPC gets its own group, so the cache can admit exactly them.
        valkey = ec2.Port.tcp(CACHE_PORT)
        self.function_security_groups: dict[str, ec2.SecurityGroup] = {}
        for name in vpc_functions:
            sg = ec2.SecurityGroup(self, f"{name.title()}Functions", vpc=self.vpc, allow_all_outbound=False,
                                   description=f"postloop {name} function")
            # Written in the group itself, so its egress is exactly these rules (a group created without
            # any gets EC2's allow-all default); without a NAT, the cache is all it can reach.
            sg.add_egress_rule(ec2.Peer.security_group_id(self.cache_security_group.security_group_id), valkey,
                               "Valkey to the model cache")
            if nat != "none":
                # HTTPS out: X, OpenAI and AWS APIs through the NAT, DynamoDB through the endpoint.
                sg.add_egress_rule(ec2.Peer.any_ipv4(), HTTPS, "HTTPS to X, OpenAI and AWS APIs")
            # A rule of its own (not inline in the cache's group): the two groups name each other.
            self.cache_security_group.add_ingress_rule(sg, valkey, f"Valkey from {name}")
            self.function_security_groups[name] = sg
        if nat == "instance":
            self._harden_nat_instance()

        self.cache = elasticache.CfnServerlessCache(
            self, "ModelCache",
            engine="valkey",
            major_engine_version="8",
            serverless_cache_name=CACHE_NAME,
            description="postloop: the latest fitted model per account (DynamoDB keeps every version)",
            subnet_ids=[s.subnet_id for s in self.function_subnets],
            security_group_ids=[self.cache_security_group.security_group_id],
            # The models are a few kilobytes; the caps bound the bill if something misbehaves.
            cache_usage_limits=elasticache.CfnServerlessCache.CacheUsageLimitsProperty(
                data_storage=elasticache.CfnServerlessCache.DataStorageProperty(unit="GB", maximum=1),
                ecpu_per_second=elasticache.CfnServerlessCache.ECPUPerSecondProperty(maximum=5000),
            ),
        )
        # ElastiCache Serverless always encrypts in transit: the URL must say rediss://.
        self.redis_url = Fn.join("", ["rediss://", self.cache.attr_endpoint_address, ":",
                                      self.cache.attr_endpoint_port])

    def _harden_nat_instance(self) -> None:
        provider: ec2.NatInstanceProviderV2 = self.nat_provider  # type: ignore[assignment]
        # The NAT forwards HTTPS from the functions in the VPC and nothing else.
        for name, sg in self.function_security_groups.items():
            provider.connections.allow_from(sg, HTTPS, f"HTTPS from {name}")
        for subnet in self.vpc.public_subnets:
            nat = subnet.node.try_find_child("NatInstance")
            if nat is None:
                continue
            cfn_instance: ec2.CfnInstance = nat.node.default_child
            # Encrypted root volume (the AMI's device name on Amazon Linux 2023).
            cfn_instance.block_device_mappings = [ec2.CfnInstance.BlockDeviceMappingProperty(
                device_name="/dev/xvda",
                ebs=ec2.CfnInstance.EbsProperty(encrypted=True, volume_type="gp3", volume_size=8,
                                                delete_on_termination=True),
            )]
            acknowledge(
                nat, "AwsSolutions-EC28",
                "Detailed monitoring of the NAT instance costs more than the instance; the basic "
                "five-minute metrics are enough for a NAT carrying a few calls an hour.")
            acknowledge(
                nat, "AwsSolutions-EC29",
                "Termination protection would make 'cdk destroy' fail; the instance holds no state "
                "and CloudFormation recreates it.")
