"""The review page: a function URL with auth NONE (every request needs a signed token, checked in
the code), its own least-privilege role, a bounded concurrency, and the approve function signing
the links it sends."""
from __future__ import annotations

from test_functions import LOGS, XRAY, fn_props, pairs, role_permissions

CM = "table:content_metadata"


def test_the_review_function_url_is_public_and_points_at_the_review_function(main_synth):
    (url,) = main_synth.of_type("AWS::Lambda::Url").values()
    props = url["Properties"]
    assert props["AuthType"] == "NONE" and "Cors" not in props
    fn_id = main_synth.logical_id(main_synth.stack.functions.functions["review"])
    assert props["TargetFunctionArn"] == {"Fn::GetAtt": [fn_id, "Arn"]}
    # Only the public URL invoke is granted, on this function.
    perms = [p["Properties"] for p in main_synth.of_type("AWS::Lambda::Permission").values()
             if p["Properties"].get("FunctionUrlAuthType") == "NONE"]
    assert len(perms) == 1 and perms[0]["Principal"] == "*" and perms[0]["Action"] == "lambda:InvokeFunctionUrl"


def test_the_review_role_allows_exactly_what_the_page_uses(main_synth, variant_synth):
    expected = (pairs(LOGS, "logs:review") | pairs(XRAY, "*")
                | pairs({"dynamodb:GetItem", "dynamodb:PutItem"}, CM, "table:locks")
                | pairs({"dynamodb:Query"}, f"{CM}/index/by_posted_at", f"{CM}/index/by_planned_at")
                | pairs({"secretsmanager:GetSecretValue"}, "secret:review-signing")
                | pairs({"states:SendTaskSuccess"}, "state-machine:cycle"))
    assert role_permissions(main_synth, "review") == expected | pairs({"secretsmanager:GetSecretValue"}, "secret:openai")
    assert role_permissions(variant_synth, "review") == expected


def test_the_review_function_has_a_bounded_concurrency_and_the_settings_it_reads(main_synth):
    props = fn_props(main_synth, "review")
    assert props["ReservedConcurrentExecutions"] == 2
    env = props["Environment"]["Variables"]
    assert env["POSTLOOP_ACCOUNTS_FILE"] == "/opt/accounts/accounts.json"
    assert env["POSTLOOP_REVIEW_SECRET_ID"] == {"Ref": main_synth.logical_id(main_synth.stack.review.secret)}
    assert {"POSTLOOP_CONTENT_TABLE", "POSTLOOP_LOCKS_TABLE"} <= set(env)
