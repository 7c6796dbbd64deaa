"""bench/cost.py: the bill read from the synthesized template, priced from bench/prices.json."""
from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
from synth_helpers import REPO

sys.path.insert(0, str(REPO / "bench"))
import cost  # noqa: E402

HOURS = 730


@pytest.fixture(scope="module")
def prices() -> dict:
    return cost.load_prices()


def lines(result: cost.Cost) -> dict[str, float]:
    return {line.item: line.usd for line in result.fixed}


def test_fixed_costs_are_read_from_the_template(main_synth, prices):
    template = main_synth.template
    result = cost.estimate(template, prices, 6, llm_model="gpt-5.4-nano")
    fixed = lines(result)
    assert fixed["ElastiCache Serverless (Valkey), storage"] == pytest.approx(0.1 * HOURS * 0.084)
    secrets = len(main_synth.of_type("AWS::SecretsManager::Secret"))
    assert secrets >= 3 and fixed[f"Secrets Manager, {secrets} secrets"] == pytest.approx(0.40 * secrets)
    alarms = main_synth.of_type("AWS::CloudWatch::Alarm").values()
    read = sum(1 if "MetricName" in a["Properties"] else sum("MetricStat" in m for m in a["Properties"]["Metrics"])
               for a in alarms)
    assert fixed[f"CloudWatch alarms: {len(alarms)} reading {read} metrics"] == pytest.approx(0.10 * read)
    assert fixed["CloudWatch dashboard × 1"] == 3.00   # the main synth deploys it
    assert result.accounts == ["berlin", "demo"]
    (learn,) = [x for x in result.fixed if x.item.startswith("learn every 6 h")]
    assert learn.item == f"learn every 6 h: {2 * 4 * HOURS / 24:.0f} runs"   # two accounts, 4 runs a day
    assert not any("NAT" in item or "IPv4" in item for item in fixed), "no NAT and no address by default"


def test_adding_a_nat_gateway_raises_the_fixed_cost_by_its_price(main_synth, prices):
    """It reads the template: a NAT gateway and its address put in cost what they cost."""
    template = copy.deepcopy(main_synth.template)
    before = cost.estimate(template, prices, 6, llm_model="gpt-5.4-nano").fixed_usd
    template["Resources"]["Nat"] = {"Type": "AWS::EC2::NatGateway", "Properties": {}}
    template["Resources"]["NatAddress"] = {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}}
    after = cost.estimate(template, prices, 6, llm_model="gpt-5.4-nano").fixed_usd
    assert after - before == pytest.approx(HOURS * 0.045 + HOURS * 0.005 + 0.1 * 0.045)


def test_the_nat_instance_layout_costs_its_instance_volume_and_address(variant_synth, prices):
    fixed = lines(cost.estimate(variant_synth.template, prices, 6))
    assert fixed["EC2 instance t4g.nano"] == pytest.approx(HOURS * 0.0042)
    assert fixed["its EBS gp3 volume (8 GB)"] == pytest.approx(8 * 0.08)
    # The instance sits in a public subnet that maps a public address at launch.
    assert fixed["public IPv4 address × 1"] == pytest.approx(HOURS * 0.005)


def test_a_resource_without_a_price_stops_it_naming_the_type(main_synth, prices):
    template = copy.deepcopy(main_synth.template)
    template["Resources"]["Db"] = {"Type": "AWS::RDS::DBInstance", "Properties": {}}
    with pytest.raises(cost.CostError, match=r"no price or rule for AWS::RDS::DBInstance \(Db\)"):
        cost.estimate(template, prices, 6, llm_model="gpt-5.4-nano")
    template = copy.deepcopy(main_synth.template)
    template["Resources"]["Big"] = {"Type": "AWS::EC2::Instance", "Properties": {"InstanceType": "m7g.16xlarge"}}
    with pytest.raises(cost.CostError, match="Big: no price for instance type 'm7g.16xlarge'"):
        cost.estimate(template, prices, 6, llm_model="gpt-5.4-nano")


def test_per_post_lines(main_synth, variant_synth, prices):
    with pytest.raises(cost.CostError, match="give --posts-per-day.*berlin 5, demo 6"):
        cost.estimate(main_synth.template, prices)
    # The main synth's writer is a Bedrock model the table has no price for: it says so.
    with pytest.raises(cost.CostError, match="no price for the LLM 'openai.gpt-oss-20b-1:0'"):
        cost.estimate(main_synth.template, prices, 6)
    with_board = cost.estimate(main_synth.template, prices, 6, llm_model="gpt-5.4-nano")
    post = {line.item: line.usd for line in with_board.per_post}
    assert post["X: the post"] == 0.015
    # Owned reads at 24 h and 48 h; the follower count is a fixed daily read, not a per-post one.
    assert post["X: reads"] == pytest.approx(2 * 0.001)
    fixed = {line.item: line.usd for line in with_board.fixed}
    assert fixed["X: the follower count, read at most once a day"] == pytest.approx(
        len(with_board.accounts) * 730 / 24 * 0.010)   # per account, whatever the posting rate
    assert post["LLM: gpt-5.4-nano"] == pytest.approx(3 * (400 * 0.20 + 250 * 1.25) / 1e6)
    assert post["AWS Step Functions"] == pytest.approx(16 * 0.025 / 1000)
    assert with_board.per_post_usd == pytest.approx(sum(post.values()))
    # The dashboard's metrics cost by the hour: without the dashboard (and its metrics) a post costs less.
    without = cost.estimate(variant_synth.template, prices, 6)
    metrics = {x.item: x.arithmetic for x in without.per_post}["AWS CloudWatch metrics"]
    assert metrics.startswith("1 metric-hour ")   # Post_posted; spend is learn's MonthSpendUSD (fixed)
    assert {x.item: x.usd for x in without.per_post}["LLM: none (offline writer)"] == 0.0
    assert post["AWS CloudWatch metrics"] > {x.item: x.usd for x in without.per_post}["AWS CloudWatch metrics"]


@pytest.mark.parametrize("expression, per_day", [("cron(0 0/6 * * ? *)", 4), ("cron(0 0,4,8,12,16,20 * * ? *)", 6),
                                                 ("cron(12 19 * * ? *)", 1), ("rate(6 hours)", 4),
                                                 ("cron(0 * * * ? *)", 24)])
def test_schedule_expressions(expression, per_day):
    assert cost.runs_per_day(expression, "s") == per_day


def test_an_unreadable_schedule_is_named():
    with pytest.raises(cost.CostError, match=r"s: cannot tell how often 'cron\(0 9 \? \* MON \*\)' runs"):
        cost.runs_per_day("cron(0 9 ? * MON *)", "s")


def test_the_price_table_is_dated_and_agrees_with_the_code(prices):
    from postloop.adapters.openai_writer import PRICES
    from postloop.core import spend
    assert prices["as_of"] and prices["sources"] and prices["region"] == "us-east-1"
    assert (prices["x"]["post_create"], prices["x"]["post_create_with_url"], prices["x"]["post_read"],
            prices["x"]["user_read"], prices["x"]["owned_read"]) == (
        spend.X_POST_USD, spend.X_POST_WITH_URL_USD, spend.X_POST_READ_USD, spend.X_USER_READ_USD,
        spend.X_OWNED_READ_USD)
    for model, (price_in, price_out) in PRICES.items():
        assert prices["openai"][model] == {"input_per_million": price_in, "output_per_million": price_out}


def test_bad_input_is_named(tmp_path):
    not_json = tmp_path / "t.json"
    not_json.write_text("{")
    no_resources = tmp_path / "r.json"
    no_resources.write_text(json.dumps({"Outputs": {}}))
    for path, message in ((not_json, "is not JSON"), (no_resources, "has no 'Resources' object"),
                          (tmp_path / "missing.json", "cannot read the template")):
        run = subprocess.run([sys.executable, str(REPO / "bench" / "cost.py"), "--template", str(path)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and message in run.stderr and not run.stdout, run.stderr


@pytest.fixture(scope="module")
def default_cost(prices) -> cost.Cost:
    """The deployment as `cdk deploy` makes it by default, one account at 6 posts a day (a synth, ~20 s)."""
    return cost.estimate(cost.synthesize(6), prices, 6)


def test_the_default_deployment_costs_at_most_10_dollars_fixed(default_cost):
    assert default_cost.accounts == ["demo"]
    assert default_cost.fixed_usd <= cost.TARGET_FIXED_USD, default_cost.fixed
    # What is left of the bill besides X: AWS and the LLM a post (the whole target is X's to miss, see docs).
    assert default_cost.part("AWS") + default_cost.part("LLM") < 0.005


def test_a_post_costs_at_most_2_cents_all_in_only_with_owned_reads(default_cost, prices):
    assert default_cost.per_post_usd <= cost.TARGET_PER_POST_USD, default_cost.per_post
    assert default_cost.as_dict()["targets"]["per_post_met"]
    # The same reads priced as reads by id (what scrape paid before it read the owned timeline) miss it.
    by_id = {**prices, "x": {**prices["x"], "owned_read": prices["x"]["post_read"]}}
    slower = cost.estimate(cost.synthesize(6), by_id, 6)
    assert slower.per_post_usd > cost.TARGET_PER_POST_USD


def test_the_readme_shows_the_scripts_table(default_cost):
    readme = (REPO / "README.md").read_text()
    table = cost.markdown(default_cost, "")
    rows = [row for row in table.splitlines() if row.startswith("| ")]
    missing = [row for row in rows if row not in readme]
    assert not missing, "README.md's cost table is not bench/cost.py's output; run .venv/bin/python " \
                        f"bench/cost.py --markdown and paste it: {missing[:3]}"
