"""Cloud engineering: serverless costs, cold starts, observability, databases, caching, on-call."""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="cloud",
    match=frozenset("""cloud serverless lambda aws azure gcp kubernetes devops sre infrastructure observability
    latency database databases postgres deploy deployment engineer engineering backend on-call oncall
    platform""".split()),
    subject="your cloud bill",
    goals=("cut the cloud bill", "sleep through on-call", "ship on Fridays without fear", "find slow queries "
           "faster", "keep p99 latency down", "stop paging people at night"),
    people=("a team I advised", "a startup I worked with", "a reader running a side project", "our platform team",
            "a fintech team", "a friend at a logistics company", "an engineer on my last team", "a two-person "
            "SaaS", "a client in retail", "a colleague on the payments team"),
    log=("our deploys", "every page we got", "the monthly bill by service", "p99 latency per endpoint"),
    signoffs=("Measure first.", "Boring infrastructure is a feature.", "Ship small, ship often.",
              "Your future on-call self says thanks.", "Check the bill this week."),
    vague=("The cloud is complicated.", "Observability matters a lot.", "Costs can get out of hand.",
           "Good engineering takes time.", "Every system is different.", "Keep your infrastructure simple."),
    tags=("#aws", "#serverless", "#devops", "#sre", "#cloud"),
    levers=(
        Lever(
            topic="serverless costs lambda memory",
            names=("Lambda memory settings", "the default 128 MB", "right-sizing functions"),
            facts=("Lambda gives CPU in proportion to memory, so [a function at 1,024 MB|doubling memory] can finish "
                   "[so much faster that it costs less|in half the time for the same price].",
                   "[Many|Most] Lambda functions in the wild still run at the default 128 MB, [which often makes "
                   "them slower and no cheaper|which is rarely the cheapest setting]."),
            why=("You pay for memory times duration, so more memory that halves the run time [costs the same and "
                 "answers faster|is free speed].",),
            do=("benchmark each function at three memory sizes before choosing", "run a power-tuning test on "
                "your busiest functions"),
            did=("power-tuned the ten busiest functions", "moved the image resizer from 128 MB to 1,024 MB"),
            gain=("cut the Lambda bill by {pct}%", "took {ms} ms off the median response"),
            take=("128 MB is not the cheap setting. It is the slow one.",),
            myth="less memory is always cheaper",
            ask=("What memory size do your Lambda functions run at?", "Have you ever power-tuned a function?"),
        ),
        Lever(
            topic="cold starts serverless latency",
            names=("cold starts", "the first request after idle", "init time"),
            facts=("On a busy function, cold starts are [often under 1%|typically well under 1%] of invocations.",
                   "Importing a heavy SDK at startup can add [several hundred milliseconds|300 ms or more] to every "
                   "cold start."),
            why=("A cold start pays for everything your code does at import, [so trimming imports beats any "
                 "warming trick|which is why the package size matters more than the runtime].",),
            do=("measure init time per import with the runtime's import profiler", "lazy-load clients the "
                "handler rarely uses"),
            did=("moved two heavy imports out of the init path", "trimmed the deployment package by half"),
            gain=("cut cold starts from {ms} ms to about half that", "dropped p99 latency by {pct}%"),
            take=("Most cold start problems are import problems.", "Provisioned concurrency is often a fix for a "
                  "bug in your imports."),
            myth="cold starts are the main cost of serverless",
            ask=("How long are your cold starts, really?", "Do you know which import is your slowest?"),
        ),
        Lever(
            topic="observability alerts tracing logs",
            names=("structured logs", "tracing", "your dashboards"),
            facts=("Teams that log JSON with a request id find the cause of an incident [much faster|in minutes "
                   "rather than hours] than teams grepping free text.",
                   "Log storage can quietly [grow past|exceed] the compute bill when debug logging stays on in "
                   "production."),
            why=("A request id ties every log line of one request together, [so you read a story instead of a "
                 "haystack|which turns search into a filter].",),
            do=("add a correlation id to every log line", "sample debug logs instead of keeping all of them",
                "set retention on every log group"),
            did=("switched to JSON logs with a request id", "set 30-day retention on every log group",
                 "sampled debug logs at 1%"),
            gain=("cut the time to find a root cause by {pct}%", "saved about ${dollars} a month on log storage"),
            take=("If your logs are not structured, you have text files, not observability.",),
            myth="more logs means better observability",
            ask=("How long does it take your team to find the first useful log line in an incident?",
                 "Do your log groups have a retention setting?"),
        ),
        Lever(
            topic="on-call alerts paging",
            names=("alert fatigue", "the 3 am page", "noisy alerts"),
            facts=("In many teams, [over half|more than half] of pages need no action at all.",
                   "An alert that fires [every week|weekly] and gets ignored trains people to ignore the real one."),
            why=("Paging on symptoms users feel, not on causes, [cuts pages without hiding outages|keeps the pager "
                 "for things that matter].",),
            do=("delete every alert nobody acted on last month", "page on user-facing error rates, not CPU"),
            did=("deleted every alert nobody acted on for a month", "moved CPU alerts from paging to a daily "
                 "report"),
            gain=("cut night pages by {pct}%", "went {weeks} weeks without a false page"),
            take=("An alert nobody acts on is worse than no alert.",),
            myth="more alerts make a system safer",
            ask=("How many of your pages last month needed action?", "What is your noisiest alert?"),
        ),
        Lever(
            topic="databases postgres indexes queries",
            names=("a missing index", "slow queries", "the N+1 query"),
            facts=("[A single|One] missing index can turn a 5 ms query into a [2-second|multi-second] table scan "
                   "once the table grows.",
                   "An N+1 query pattern can send [hundreds of|a hundred] queries for one page load."),
            why=("The planner only uses an index it has, [so the slow query log is where the real fixes are|which "
                 "is why EXPLAIN is the first tool, not the last].",),
            do=("turn on the slow query log and read it weekly", "run EXPLAIN on your ten slowest queries"),
            did=("added two indexes from the slow query log", "replaced an N+1 loop with one join"),
            gain=("took {ms} ms off the checkout page", "cut database CPU by {pct}%"),
            take=("Most scaling problems are one missing index.",),
            myth="you need a bigger database when queries get slow",
            ask=("When did you last read your slow query log?", "What is your slowest query right now?"),
        ),
        Lever(
            topic="cache caching latency",
            names=("caching", "a cache in front of the database", "cache invalidation"),
            facts=("A cache hit rate of 90% [cuts database reads tenfold|means only one read in ten reaches the "
                   "database].",
                   "A short TTL of [30|60] seconds on a hot read often removes most of its database load."),
            why=("Most traffic goes to a small set of keys, [so a small cache covers most of it|which is why even a "
                 "tiny cache pays].",),
            do=("cache the three hottest reads with a short TTL", "measure the hit rate before adding more cache"),
            did=("put a 60-second cache on the product page", "cached the three hottest reads"),
            gain=("cut database reads by {pct}%", "dropped p99 latency by {ms} ms"),
            take=("A 60-second cache beats a perfect one you never ship.",),
            myth="caching always makes data stale in ways users notice",
            ask=("What is your cache hit rate?", "Which read would you cache first?"),
        ),
        Lever(
            topic="deploy deployment releases",
            names=("small deploys", "Friday deploys", "the rollback button"),
            facts=("Teams that deploy small changes many times a day [have fewer failed changes|recover from "
                   "failures faster], in the DORA research.",
                   "A rollback that takes [one command|under five minutes] makes most deploy fear irrational."),
            why=("A small change has a small blast radius, [so finding what broke takes minutes|which makes the "
                 "cause obvious when something breaks].",),
            do=("cut deploys to one change each", "practise a rollback before you need one"),
            did=("split the weekly release into daily deploys", "rehearsed a rollback every sprint"),
            gain=("cut failed deploys by {pct}%", "brought recovery time down to {few} minutes"),
            take=("If Friday deploys scare you, your deploys are too big.",),
            myth="deploying less often is safer",
            ask=("How long does your rollback take?", "How many changes go out in a typical deploy?"),
        ),
        Lever(
            topic="serverless costs bill data transfer",
            names=("data transfer costs", "the NAT gateway", "the surprise line on the bill"),
            facts=("A NAT gateway costs [around $32 a month|about $0.045 an hour] before it moves a single byte.",
                   "Cross-zone and NAT data charges are [a common|one of the most common] surprise lines on a "
                   "cloud bill."),
            why=("Traffic to storage through a NAT is billed twice, [so a free VPC endpoint can cut the line to "
                 "zero|which a gateway endpoint avoids].",),
            do=("add gateway endpoints for storage and key-value traffic", "read the bill by usage type once a "
                "month"),
            did=("added gateway endpoints for S3 and DynamoDB", "tagged every resource and read the bill by tag"),
            gain=("saved about ${dollars} a month", "cut the data transfer line by {pct}%"),
            take=("Your biggest cloud cost is probably one you have never looked at.",),
            myth="compute is always the biggest line on the bill",
            ask=("What is the third line on your cloud bill?", "Do you know what your NAT gateway costs?"),
        ),
        Lever(
            topic="kubernetes containers resources",
            names=("resource requests", "over-provisioned pods", "idle clusters"),
            facts=("Kubernetes clusters often run at [under 30%|well under half] of the CPU they reserve.",
                   "Requests set by copy-paste are [usually|often] several times what the pod uses."),
            why=("The scheduler packs by requests, not usage, [so inflated requests buy idle nodes|which is why the "
                 "bill follows the YAML, not the load].",),
            do=("set requests from a week of real usage", "review the biggest requests every quarter"),
            did=("cut requests to match a week of measured usage", "moved batch jobs to spot nodes"),
            gain=("cut the node count by {pct}%", "saved about ${dollars} a month"),
            take=("Your cluster is not busy. Your YAML is.",),
            myth="Kubernetes makes better use of hardware by itself",
            ask=("What share of requested CPU do your pods use?", "When did you last review resource requests?"),
        ),
        Lever(
            topic="incidents postmortems reliability",
            names=("blameless postmortems", "incident reviews", "the action items"),
            facts=("Postmortem action items that have no owner [mostly never get done|are rarely finished] in "
                   "studies of incident reviews.",
                   "Most outages [come from changes|start with a change]: a deploy, a config edit or a flag."),
            why=("Blame makes people hide details, [and the details are the fix|so the review learns less than the "
                 "incident taught].",),
            do=("give every action item an owner and a date", "write the timeline before the causes"),
            did=("gave every action item an owner and a due date", "started every review with the timeline"),
            gain=("closed {pct}% more action items", "cut repeat incidents to {few} a quarter"),
            take=("A postmortem without owners is a diary.",),
            myth="the root cause is usually one person's mistake",
            ask=("How many of your last postmortem's action items got done?", "Who writes your incident "
                 "timelines?"),
        ),
        Lever(
            topic="databases connections pooling serverless",
            names=("connection pooling", "database connections from Lambda", "the connection limit"),
            facts=("A small Postgres instance allows [around 100|only about a hundred] connections, and a burst of "
                   "Lambda invocations can open one each.",
                   "Opening a TLS database connection can take [20 to 50 ms|tens of milliseconds], more than many "
                   "queries."),
            why=("Each concurrent function holds its own connection, [so a traffic spike becomes a connection "
                 "storm|which is why the database falls over before the CPU is busy].",),
            do=("put a connection pooler or proxy in front of the database", "reuse the connection across "
                "invocations instead of opening one per request"),
            did=("put a connection proxy in front of Postgres", "moved the connection out of the handler so warm "
                 "invocations reuse it"),
            gain=("stopped hitting the connection limit at peak", "took {ms} ms off the median request"),
            take=("Serverless plus a classic database without a pooler is an outage waiting for traffic.",),
            myth="serverless functions scale without touching the database",
            ask=("How many connections does your database allow?", "Do your functions reuse database "
                 "connections?"),
        ),
        Lever(
            topic="queues retries idempotency",
            names=("idempotency", "retries", "the dead-letter queue"),
            facts=("Most managed queues deliver [at least once|a message at least once], so the same message can "
                   "arrive twice.",
                   "Retrying without backoff can turn a [brief|short] outage into a [retry storm|flood of "
                   "requests] that keeps it down."),
            why=("An idempotency key lets the second delivery find the first result, [so a retry is safe|which "
                 "turns duplicates into no-ops].",),
            do=("give every write an idempotency key", "retry with exponential backoff and jitter",
                "alarm on the dead-letter queue, not just the main one"),
            did=("added idempotency keys to every payment write", "switched retries to exponential backoff with "
                 "jitter"),
            gain=("stopped double-charging {few} customers a month", "cut retry traffic during incidents by "
                  "{pct}%"),
            take=("If your handler is not idempotent, your queue is a duplicate generator.",),
            myth="the queue delivers each message exactly once",
            ask=("What happens if your handler runs twice on the same message?", "Who watches your dead-letter "
                 "queue?"),
        ),
        Lever(
            topic="observability latency percentiles p99",
            names=("p99 latency", "averages", "tail latency"),
            facts=("An average latency of [100 ms|80 ms] can hide a p99 of [two seconds|over a second].",
                   "A page that makes [20|a dozen] backend calls hits at least one p99 on most loads."),
            why=("Users feel the slowest call on a page, [so the tail decides how fast the product feels|which "
                 "is why averages flatter you].",),
            do=("chart p50, p95 and p99 side by side", "set latency alerts on p99, not the mean"),
            did=("replaced the average latency chart with p50, p95 and p99", "moved latency alerts to p99"),
            gain=("found a slow dependency hiding behind a {ms} ms average", "cut p99 by {pct}%"),
            take=("Average latency is a vanity metric.",),
            myth="the average tells you how fast your service is",
            ask=("Do you alert on average latency or on p99?", "What is your p99 right now?"),
        ),
    ),
)
