"""The network layouts: no NAT by default (only the cache function in the VPC), the NAT options,
the model cache's isolation, and that nothing in the VPC needs a way out it does not have."""
from __future__ import annotations

import copy
import json

import pytest
from synth_helpers import render

from postloop_infra.functions import vpc_functions
from postloop_infra.names import CACHE_PORT
from postloop_infra.options import DeployOptions, OptionsError

# What needs no network path from the VPC: Lambda itself delivers a function's logs (the runtime
# writes to stdout; logs:* is the service's permission to store them) and attaches it to the VPC
# (the ec2:* network-interface actions are Lambda's own calls, made when the function is created).
LAMBDA_SERVICE_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface",
                          "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
                          "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}
# Resources that would give the VPC a way to the internet, or a public IPv4 address.
INTERNET_TYPES = ("AWS::EC2::NatGateway", "AWS::EC2::Instance", "AWS::EC2::EIP", "AWS::EC2::EIPAssociation",
                  "AWS::EC2::InternetGateway", "AWS::EC2::VPCGatewayAttachment",
                  "AWS::EC2::EgressOnlyInternetGateway", "AWS::EC2::VPNGateway", "AWS::EC2::TransitGatewayAttachment",
                  "AWS::EC2::VPCPeeringConnection")


# --- reading the template alone -------------------------------------------------------------------

def of_type(template: dict, cfn_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == cfn_type}


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


def endpoint_services(template: dict) -> set[str]:
    """The services the VPC has an endpoint for: 'dynamodb' from com.amazonaws.<region>.dynamodb."""
    services = set()
    for endpoint in of_type(template, "AWS::EC2::VPCEndpoint").values():
        name = endpoint["Properties"]["ServiceName"]
        text = "".join(p if isinstance(p, str) else "" for p in name["Fn::Join"][1]) if isinstance(name, dict) \
            else name
        services.add(text.rsplit(".", 1)[-1])
    return services


def role_actions(template: dict, function_id: str) -> set[str]:
    """Every action the function's role allows: its inline policies and the policies attached to it."""
    resources = template["Resources"]
    role_id = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = resources[role_id]["Properties"]
    docs = [p["PolicyDocument"] for p in role.get("Policies", [])]
    docs += [p["Properties"]["PolicyDocument"] for p in of_type(template, "AWS::IAM::Policy").values()
             if {"Ref": role_id} in p["Properties"].get("Roles", [])]
    assert not role.get("ManagedPolicyArns"), "a managed policy's actions cannot be read from the template"
    return {a for doc in docs for st in doc["Statement"] if st["Effect"] == "Allow" for a in _list(st["Action"])}


def egress_rules(template: dict, group_id: str) -> list[dict]:
    """The group's egress: its inline rules and the SecurityGroupEgress resources naming it."""
    resources = template["Resources"]
    rules = list(resources[group_id]["Properties"].get("SecurityGroupEgress", []))
    rules += [r["Properties"] for r in of_type(template, "AWS::EC2::SecurityGroupEgress").values()
              if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}]
    return rules


def groups_guarding_the_cache(template: dict) -> set[str]:
    return {g["Fn::GetAtt"][0] for c in of_type(template, "AWS::ElastiCache::ServerlessCache").values()
            for g in c["Properties"]["SecurityGroupIds"]}


def in_vpc_functions(template: dict) -> dict[str, dict]:
    return {k: v for k, v in of_type(template, "AWS::Lambda::Function").items() if "VpcConfig" in v["Properties"]}


def needs_a_way_out(template: dict) -> dict[str, list[str]]:
    """For each function in the VPC, what it would need a NAT or an internet gateway for.

    Its role's actions must be Lambda's own (LAMBDA_SERVICE_ACTIONS) or on a service the VPC has
    an endpoint for; it must not be traced (X-Ray's daemon sends from the function's network);
    and its security groups may let it reach the cache and nothing else: no CIDR, no prefix list.
    """
    endpoints = endpoint_services(template)
    cache_groups = groups_guarding_the_cache(template)
    found: dict[str, list[str]] = {}
    for function_id, fn in in_vpc_functions(template).items():
        problems = []
        for action in sorted(role_actions(template, function_id)):
            if action not in LAMBDA_SERVICE_ACTIONS and action.split(":")[0] not in endpoints:
                problems.append(f"calls {action}")
        if fn["Properties"].get("TracingConfig", {}).get("Mode") == "Active":
            problems.append("sends X-Ray traces")
        for group in fn["Properties"]["VpcConfig"]["SecurityGroupIds"]:
            for rule in egress_rules(template, group["Fn::GetAtt"][0]):
                target = rule.get("DestinationSecurityGroupId", {})
                to_cache = isinstance(target, dict) and target.get("Fn::GetAtt", [None])[0] in cache_groups \
                    and (rule.get("FromPort"), rule.get("ToPort")) == (CACHE_PORT, CACHE_PORT)
                if not to_cache and rule.get("CidrIp") != "255.255.255.255/32":   # CDK's match-nothing rule
                    problems.append("may send to " + (rule.get("CidrIp") or rule.get("CidrIpv6")
                                                      or rule.get("DestinationPrefixListId") or json.dumps(target)))
        if problems:
            found[function_id] = problems
    return found


# --- the default: no NAT, no public IPv4, only the cache function inside ---------------------------

def test_by_default_there_is_no_nat_no_public_ipv4_and_no_route_out(main_synth):
    template = main_synth.template
    assert main_synth.stack.options.nat == "none"
    for cfn_type in INTERNET_TYPES:
        assert not of_type(template, cfn_type), cfn_type
    subnets = of_type(template, "AWS::EC2::Subnet")
    assert len(subnets) == 2 and not any(s["Properties"].get("MapPublicIpOnLaunch") for s in subnets.values())
    # Isolated subnets: their route tables hold only the VPC's local route, which is implicit.
    assert not of_type(template, "AWS::EC2::Route")
    zones = sorted(s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets.values())
    assert zones == [0, 1], "two zones, as the serverless cache needs"


def test_only_the_cache_function_runs_in_the_vpc_and_it_needs_no_way_out(main_synth):
    template = main_synth.template
    cache_fn = main_synth.logical_id(main_synth.stack.functions.functions["cache"])
    assert set(in_vpc_functions(template)) == {cache_fn}
    assert vpc_functions("none") == ("cache",)
    assert needs_a_way_out(template) == {}
    assert not endpoint_services(template), "nothing in the VPC calls an AWS API, so no endpoint is needed"
    assert role_actions(template, cache_fn) == LAMBDA_SERVICE_ACTIONS


@pytest.mark.parametrize("change, problem", [
    ("role", "calls dynamodb:GetItem"),
    ("tracing", "sends X-Ray traces"),
    ("egress", "may send to 0.0.0.0/0"),
])
def test_the_way_out_check_sees_a_call_a_trace_and_an_open_egress(main_synth, change, problem):
    """The check above is not vacuous: each thing that would need a NAT, put in, is reported."""
    template = copy.deepcopy(main_synth.template)
    resources = template["Resources"]
    cache_fn = main_synth.logical_id(main_synth.stack.functions.functions["cache"])
    props = resources[cache_fn]["Properties"]
    if change == "role":
        role_id = props["Role"]["Fn::GetAtt"][0]
        policy = next(p for p in of_type(template, "AWS::IAM::Policy").values()
                      if {"Ref": role_id} in p["Properties"]["Roles"])
        policy["Properties"]["PolicyDocument"]["Statement"].append(
            {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"})
    elif change == "tracing":
        props["TracingConfig"] = {"Mode": "Active"}
    else:
        group = props["VpcConfig"]["SecurityGroupIds"][0]["Fn::GetAtt"][0]
        resources[group]["Properties"]["SecurityGroupEgress"].append(
            {"CidrIp": "0.0.0.0/0", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})
    assert needs_a_way_out(template) == {cache_fn: [problem]}
    if change == "role":
        # With a DynamoDB endpoint in the VPC, the same call is reachable.
        resources["Endpoint"] = {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"ServiceName": {
            "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".dynamodb"]]}}}
        assert needs_a_way_out(template) == {}


def test_with_a_nat_plan_and_learn_need_it(variant_synth):
    """The NAT layout's functions in the VPC call X, OpenAI and AWS: the check says so."""
    functions = variant_synth.stack.functions.functions
    found = needs_a_way_out(variant_synth.template)
    assert set(found) == {variant_synth.logical_id(functions[n]) for n in ("plan", "learn")}
    learn = found[variant_synth.logical_id(functions["learn"])]
    assert "sends X-Ray traces" in learn and "may send to 0.0.0.0/0" in learn
    assert "calls dynamodb:Query" not in learn, "DynamoDB has its gateway endpoint"


def test_plan_and_learn_reach_the_cache_through_the_cache_function(main_synth):
    functions = main_synth.stack.functions.functions
    cache_fn = main_synth.logical_id(functions["cache"])
    for name in ("plan", "learn"):
        props = main_synth.resource(functions[name])["Properties"]
        assert "VpcConfig" not in props
        env = props["Environment"]["Variables"]
        assert env["POSTLOOP_MODEL_CACHE_FUNCTION"] == {"Ref": cache_fn} and "POSTLOOP_REDIS_URL" not in env
    for name in ("approve", "post", "scrape"):
        env = main_synth.resource(functions[name])["Properties"]["Environment"]["Variables"]
        assert not {"POSTLOOP_MODEL_CACHE_FUNCTION", "POSTLOOP_REDIS_URL"} & set(env)


# --- the cache --------------------------------------------------------------------------------------

def vpc_subnet_ids(synth) -> list[str]:
    return sorted(synth.logical_id(s) for s in synth.stack.network.function_subnets)


@pytest.mark.parametrize("synth_name, clients", [("main", ("cache",)), ("variant", ("plan", "learn"))])
def test_cache_is_serverless_valkey_reached_over_tls_by_the_functions_in_the_vpc(request, synth_name, clients):
    synth = request.getfixturevalue(f"{synth_name}_synth")
    (cache,) = synth.of_type("AWS::ElastiCache::ServerlessCache").values()
    props = cache["Properties"]
    assert props["Engine"] == "valkey"
    assert sorted(s["Ref"] for s in props["SubnetIds"]) == vpc_subnet_ids(synth)
    cache_sg = synth.logical_id(synth.stack.network.cache_security_group)
    assert props["SecurityGroupIds"] == [{"Fn::GetAtt": [cache_sg, "GroupId"]}]
    for name in clients:
        fn = synth.resource(synth.stack.functions.functions[name])["Properties"]
        # TLS: ElastiCache Serverless has no plaintext option; the clients are told to use it.
        assert fn["Environment"]["Variables"]["POSTLOOP_REDIS_URL"]["Fn::Join"][1][0] == "rediss://"
        assert sorted(s["Ref"] for s in fn["VpcConfig"]["SubnetIds"]) == vpc_subnet_ids(synth)
        sg = synth.logical_id(synth.stack.network.function_security_groups[name])
        assert fn["VpcConfig"]["SecurityGroupIds"] == [{"Fn::GetAtt": [sg, "GroupId"]}]
    # The cache admits exactly these functions' groups, on its port.
    assert "SecurityGroupIngress" not in synth.template["Resources"][cache_sg]["Properties"]
    ingress = [r["Properties"] for r in synth.of_type("AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [cache_sg, "GroupId"]}]
    assert sorted(r["SourceSecurityGroupId"]["Fn::GetAtt"][0] for r in ingress) == sorted(
        synth.logical_id(synth.stack.network.function_security_groups[n]) for n in clients)
    assert all((r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", CACHE_PORT, CACHE_PORT) for r in ingress)
    assert set(synth.stack.network.function_security_groups) == set(clients)
    if synth_name == "variant":
        assert "cache" not in synth.stack.functions.functions, "with a NAT, plan and learn use the cache directly"


def test_function_security_groups_reach_the_cache_and_with_a_nat_https(main_synth, variant_synth):
    for synth, https in ((main_synth, False), (variant_synth, True)):
        network = synth.stack.network
        cache_sg = synth.logical_id(network.cache_security_group)
        expected = [(cache_sg, CACHE_PORT)]
        if https:
            # Anywhere on 443 through the NAT; the NAT instance's own group admits them on 443 too.
            (nat_sg,) = [g["Fn::GetAtt"][0] for i in of_type(synth.template, "AWS::EC2::Instance").values()
                         for g in i["Properties"]["SecurityGroupIds"]]
            expected += [("0.0.0.0/0", 443), (nat_sg, 443)]
        for name, group in network.function_security_groups.items():
            rules = egress_rules(synth.template, synth.logical_id(group))
            found = sorted((r.get("CidrIp") or r["DestinationSecurityGroupId"]["Fn::GetAtt"][0], r["FromPort"])
                           for r in rules)
            assert found == sorted(expected), name


# --- the NAT options --------------------------------------------------------------------------------

def private_default_routes(template: dict) -> list[dict]:
    private = {s for s, r in of_type(template, "AWS::EC2::Subnet").items() if not r["Properties"]["MapPublicIpOnLaunch"]}
    tables = {a["Properties"]["RouteTableId"]["Ref"] for a in of_type(template, "AWS::EC2::SubnetRouteTableAssociation")
              .values() if a["Properties"]["SubnetId"]["Ref"] in private}
    return [r["Properties"] for r in of_type(template, "AWS::EC2::Route").values()
            if r["Properties"]["RouteTableId"]["Ref"] in tables
            and r["Properties"].get("DestinationCidrBlock") == "0.0.0.0/0"]


def test_nat_instance_option(variant_synth):
    template = variant_synth.template
    assert not of_type(template, "AWS::EC2::NatGateway")
    (instance_id, instance), = of_type(template, "AWS::EC2::Instance").items()
    props = instance["Properties"]
    assert props["InstanceType"] == "t4g.nano"
    assert props["SourceDestCheck"] is False
    assert props["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    routes = private_default_routes(template)
    assert len(routes) == 2 and all(r["InstanceId"] == {"Ref": instance_id} for r in routes)
    # The NAT forwards HTTPS from the functions in the VPC, and accepts nothing else.
    (nat_sg_id,) = [s["Fn::GetAtt"][0] for s in props["SecurityGroupIds"]]
    assert "SecurityGroupIngress" not in template["Resources"][nat_sg_id]["Properties"]
    ingress = [r["Properties"] for r in of_type(template, "AWS::EC2::SecurityGroupIngress").values()
               if r["Properties"]["GroupId"] == {"Fn::GetAtt": [nat_sg_id, "GroupId"]}]
    network = variant_synth.stack.network
    assert sorted(r["SourceSecurityGroupId"]["Fn::GetAtt"][0] for r in ingress) == \
        sorted(variant_synth.logical_id(network.function_security_groups[n]) for n in ("plan", "learn"))
    assert all((r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 443, 443) for r in ingress)
    # Public subnets and a DynamoDB gateway endpoint serving the private ones.
    assert sum(s["Properties"]["MapPublicIpOnLaunch"] for s in of_type(template, "AWS::EC2::Subnet").values()) == 2
    assert endpoint_services(template) == {"dynamodb"}


@pytest.fixture(scope="module")
def gateway_network():
    """The NAT gateway layout, the network alone (the whole app's synth is 20-30 s), with cdk-nag."""
    from aws_cdk import App, Stack, Validations
    from cdk_nag import AwsSolutionsChecks

    from postloop_infra.network import Network
    app = App()
    stack = Stack(app, "network")
    network = Network(stack, "Network", nat="gateway", vpc_functions=vpc_functions("gateway"))
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return network, app.synth().get_stack_by_name("network").template   # raises on a nag finding


def test_nat_gateway_option(gateway_network):
    network, template = gateway_network
    (gateway_id,) = of_type(template, "AWS::EC2::NatGateway")
    assert len(of_type(template, "AWS::EC2::EIP")) == 1 and not of_type(template, "AWS::EC2::Instance")
    routes = private_default_routes(template)
    assert len(routes) == 2 and all(r["NatGatewayId"] == {"Ref": gateway_id} for r in routes)
    assert set(network.function_security_groups) == {"plan", "learn"}
    assert endpoint_services(template) == {"dynamodb"}


def test_nat_option_is_validated():
    assert DeployOptions.from_context({}.get).nat == "none"
    for nat in ("none", "gateway", "instance"):
        assert DeployOptions.from_context({"nat": nat}.get).nat == nat
    with pytest.raises(OptionsError, match="'nat' must be one of none, gateway, instance"):
        DeployOptions.from_context({"nat": "nat-gateway"}.get)


def test_flow_logs_record_rejected_traffic(main_synth):
    (flow,) = main_synth.of_type("AWS::EC2::FlowLog").values()
    assert flow["Properties"]["TrafficType"] == "REJECT"
    assert flow["Properties"]["ResourceId"] == {"Ref": main_synth.logical_id(main_synth.stack.network.vpc)}


def test_rendered_names_cover_the_cache_function(main_synth):
    # The readable names the other infra tests print resolve the new function too.
    names = main_synth.readable_names()
    assert render({"Ref": main_synth.logical_id(main_synth.stack.functions.functions["cache"])}, names) == \
        "function:cache"
