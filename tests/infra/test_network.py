"""The VPC, its NAT (both options), the DynamoDB endpoint and the model cache's isolation."""
from __future__ import annotations

import pytest

from postloop_infra.names import CACHE_PORT
from postloop_infra.options import DeployOptions, OptionsError

IN_VPC = ("plan", "learn")          # the cache's users: learn writes the model, plan reads it
OUTSIDE = ("approve", "post", "scrape")


def private_subnet_ids(synth) -> list[str]:
    return [synth.logical_id(s) for s in synth.stack.network.vpc.private_subnets]


def test_vpc_spans_two_zones_with_public_and_private_subnets(main_synth):
    assert len(main_synth.of_type("AWS::EC2::VPC")) == 1
    subnets = main_synth.of_type("AWS::EC2::Subnet")
    assert len(subnets) == 4
    zones = {}
    for subnet in subnets.values():
        az = subnet["Properties"]["AvailabilityZone"]
        assert az["Fn::Select"][1] == {"Fn::GetAZs": ""}, "environment-agnostic: zones resolved at deploy"
        public = subnet["Properties"]["MapPublicIpOnLaunch"]
        zones.setdefault(az["Fn::Select"][0], []).append(public)
    assert {z: sorted(p) for z, p in zones.items()} == {0: [False, True], 1: [False, True]}


def test_dynamodb_gateway_endpoint_serves_the_private_subnets(main_synth):
    (endpoint,) = main_synth.of_type("AWS::EC2::VPCEndpoint").values()
    props = endpoint["Properties"]
    assert props["VpcEndpointType"] == "Gateway"
    assert props["ServiceName"] == {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".dynamodb"]]}
    private_tables = {rt for rt, r in main_synth.of_type("AWS::EC2::SubnetRouteTableAssociation").items()
                      if r["Properties"]["SubnetId"]["Ref"] in private_subnet_ids(main_synth)}
    private_route_tables = {main_synth.of_type("AWS::EC2::SubnetRouteTableAssociation")[a]["Properties"]
                            ["RouteTableId"]["Ref"] for a in private_tables}
    assert {r["Ref"] for r in props["RouteTableIds"]} >= private_route_tables
    assert len(private_route_tables) == 2


def test_cache_is_serverless_valkey_in_the_private_subnets(main_synth):
    (cache,) = main_synth.of_type("AWS::ElastiCache::ServerlessCache").values()
    props = cache["Properties"]
    assert props["Engine"] == "valkey"
    assert sorted(s["Ref"] for s in props["SubnetIds"]) == sorted(private_subnet_ids(main_synth))
    cache_sg = main_synth.logical_id(main_synth.stack.network.cache_security_group)
    assert props["SecurityGroupIds"] == [{"Fn::GetAtt": [cache_sg, "GroupId"]}]
    # TLS: ElastiCache Serverless has no plaintext option; the clients are told to use it.
    for name in IN_VPC:
        url = main_synth.resource(main_synth.stack.functions.functions[name])["Properties"]["Environment"][
            "Variables"]["POSTLOOP_REDIS_URL"]
        assert url["Fn::Join"][1][0] == "rediss://"


def test_cache_admits_only_the_plan_and_learn_security_groups(main_synth):
    network = main_synth.stack.network
    cache_sg = main_synth.logical_id(network.cache_security_group)
    assert "SecurityGroupIngress" not in main_synth.template["Resources"][cache_sg]["Properties"]
    ingress = [r["Properties"] for r in main_synth.of_type("AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [cache_sg, "GroupId"]}]
    sources = sorted(r["SourceSecurityGroupId"]["Fn::GetAtt"][0] for r in ingress)
    expected = sorted(main_synth.logical_id(network.function_security_groups[n]) for n in IN_VPC)
    assert sources == expected
    assert all((r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", CACHE_PORT, CACHE_PORT) for r in ingress)
    assert set(network.function_security_groups) == set(IN_VPC)


def test_only_plan_and_learn_run_in_the_vpc(main_synth):
    network = main_synth.stack.network
    for name in IN_VPC:
        config = main_synth.resource(main_synth.stack.functions.functions[name])["Properties"]["VpcConfig"]
        assert sorted(s["Ref"] for s in config["SubnetIds"]) == sorted(private_subnet_ids(main_synth))
        sg = main_synth.logical_id(network.function_security_groups[name])
        assert config["SecurityGroupIds"] == [{"Fn::GetAtt": [sg, "GroupId"]}]
    for name in OUTSIDE:
        assert "VpcConfig" not in main_synth.resource(main_synth.stack.functions.functions[name])["Properties"]


def test_function_security_groups_only_reach_https_and_the_cache(main_synth):
    network = main_synth.stack.network
    cache_sg = main_synth.logical_id(network.cache_security_group)
    for name in IN_VPC:
        sg_id = main_synth.logical_id(network.function_security_groups[name])
        inline = main_synth.template["Resources"][sg_id]["Properties"]["SecurityGroupEgress"]
        assert [(e["CidrIp"], e["IpProtocol"], e["FromPort"], e["ToPort"]) for e in inline] == \
            [("0.0.0.0/0", "tcp", 443, 443)]
        extra = [r["Properties"] for r in main_synth.of_type("AWS::EC2::SecurityGroupEgress").values()
                 if r["Properties"]["GroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}]
        assert [(e["DestinationSecurityGroupId"]["Fn::GetAtt"][0], e["FromPort"]) for e in extra] == \
            [(cache_sg, CACHE_PORT)]


def private_default_routes(synth) -> list[dict]:
    associations = synth.of_type("AWS::EC2::SubnetRouteTableAssociation").values()
    private_tables = {a["Properties"]["RouteTableId"]["Ref"] for a in associations
                      if a["Properties"]["SubnetId"]["Ref"] in private_subnet_ids(synth)}
    return [r["Properties"] for r in synth.of_type("AWS::EC2::Route").values()
            if r["Properties"]["RouteTableId"]["Ref"] in private_tables
            and r["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0"]


def test_nat_gateway_option(main_synth):
    assert main_synth.stack.options.nat == "gateway"
    gateways = main_synth.of_type("AWS::EC2::NatGateway")
    assert len(gateways) == 1
    assert not main_synth.of_type("AWS::EC2::Instance")
    routes = private_default_routes(main_synth)
    assert len(routes) == 2 and all(r["NatGatewayId"] == {"Ref": next(iter(gateways))} for r in routes)


def test_nat_instance_option(variant_synth):
    assert not variant_synth.of_type("AWS::EC2::NatGateway")
    instances = variant_synth.of_type("AWS::EC2::Instance")
    assert len(instances) == 1
    (instance_id, instance), = instances.items()
    props = instance["Properties"]
    assert props["InstanceType"] == "t4g.nano"
    assert props["SourceDestCheck"] is False
    assert props["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    routes = private_default_routes(variant_synth)
    assert len(routes) == 2 and all(r["InstanceId"] == {"Ref": instance_id} for r in routes)
    # The NAT forwards HTTPS from the functions in the VPC, and accepts nothing else.
    (nat_sg_id,) = [s["Fn::GetAtt"][0] for s in props["SecurityGroupIds"]]
    assert "SecurityGroupIngress" not in variant_synth.template["Resources"][nat_sg_id]["Properties"]
    ingress = [r["Properties"] for r in variant_synth.of_type("AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [nat_sg_id, "GroupId"]}]
    network = variant_synth.stack.network
    assert sorted(r["SourceSecurityGroupId"]["Fn::GetAtt"][0] for r in ingress) == \
        sorted(variant_synth.logical_id(network.function_security_groups[n]) for n in IN_VPC)
    assert all((r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 443, 443) for r in ingress)


def test_nat_option_is_validated():
    assert DeployOptions.from_context({"nat": "instance"}.get).nat == "instance"
    assert DeployOptions.from_context({}.get).nat == "gateway"
    with pytest.raises(OptionsError, match="'nat' must be one of gateway, instance"):
        DeployOptions.from_context({"nat": "nat-gateway"}.get)


def test_flow_logs_record_rejected_traffic(main_synth):
    (flow,) = main_synth.of_type("AWS::EC2::FlowLog").values()
    assert flow["Properties"]["TrafficType"] == "REJECT"
    assert flow["Properties"]["ResourceId"] == {"Ref": main_synth.logical_id(main_synth.stack.network.vpc)}
