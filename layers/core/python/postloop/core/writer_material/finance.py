"""Personal finance: budgeting, index funds, emergency funds, debt payoff, credit cards, fees."""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="finance",
    match=frozenset("""finance money budget budgeting saving savings invest investing investor index funds fund
    debt credit retirement pension frugal personal""".split()),
    subject="your money",
    goals=("save more each month", "pay off debt faster", "stop living paycheck to paycheck", "invest without "
           "stress", "build an emergency fund", "spend less on fees"),
    people=("a reader", "a couple I helped with their budget", "my sister", "a nurse who emailed me", "a friend "
            "in her first job", "a teacher near retirement", "a freelancer I know", "my dad", "a student who "
            "wrote in", "a colleague"),
    log=("every expense", "our spending by category", "my net worth each month"),
    signoffs=("Pay yourself first.", "Boring money is good money.", "Start with one account this week.",
              "Small and automatic beats big and occasional."),
    vague=("Money is stressful.", "Everyone should learn about money.", "Saving is important.",
           "Financial freedom is the goal.", "Spend less than you earn.", "Money is a tool."),
    tags=("#personalfinance", "#budgeting", "#investing", "#money", "#savings"),
    levers=(
        Lever(
            topic="index funds investing fees expense ratio",
            names=("fund fees", "the expense ratio", "a 1% fee"),
            facts=("A 1% yearly fee on a portfolio growing 6% a year takes [about a quarter|roughly 25%] of the "
                   "final balance over 30 years.",
                   "Broad index funds charge [as little as 0.03 to 0.1%|under 0.1%] a year, against [around 1%|"
                   "1% or more] for many managed funds."),
            why=("Fees compound just like returns, [so a small yearly number becomes a large share of the end "
                 "result|which is why 1% is not small].",),
            do=("check the expense ratio of every fund you hold", "move new contributions to a low-cost index "
                "fund"),
            did=("moved new contributions to a 0.05% index fund", "swapped a 1.2% managed fund for an index fund"),
            gain=("cut yearly fees by about ${dollars}", "kept about {pct}% more of the growth"),
            take=("The fee is the only part of investing you fully control, and most people never look at it.",),
            myth="paying more gets you a better fund",
            ask=("Do you know the expense ratio of your retirement fund?", "What do you pay in fund fees a year?"),
        ),
        Lever(
            topic="emergency fund savings",
            names=("an emergency fund", "three months of expenses", "the rainy-day account"),
            facts=("Around [a third|one in three] of adults could not cover a $400 surprise bill from savings in "
                   "recent surveys.",
                   "Three to six months of essential expenses is the usual target for an emergency fund."),
            why=("Without a buffer, the first surprise goes on a credit card, [and the interest turns a bad week "
                 "into a bad year|which is how small shocks become debt].",),
            do=("automate a transfer to savings on payday", "start with one month of essentials, then grow it"),
            did=("set up an automatic transfer on payday", "kept one month of essentials in a separate account"),
            gain=("covered a ${dollars} repair without a card", "built {few} months of expenses in a year"),
            take=("An emergency fund is not an investment. It is insurance, and it pays out in calm.",),
            myth="cash in savings is wasted money",
            ask=("How many months of expenses could you cover today?", "Where do you keep your emergency fund?"),
        ),
        Lever(
            topic="debt payoff credit cards interest",
            names=("credit card debt", "the avalanche method", "the snowball method"),
            facts=("At 24% interest, a $5,000 card balance costs [about $100 a month|roughly $1,200 a year] in "
                   "interest alone.",
                   "Paying the minimum on a typical card balance can take [over 15 years|more than a decade] to "
                   "clear it."),
            why=("Paying the highest rate first saves the most money, [while the smallest balance first gives "
                 "quicker wins|but quick wins keep some people going].",),
            do=("list every debt by interest rate", "pay the highest rate first and the minimum on the rest"),
            did=("listed every debt by rate and attacked the highest", "moved the card balance to a 0% transfer "
                 "offer"),
            gain=("saved about ${dollars} in interest", "cleared the card {few} years early"),
            take=("The minimum payment is designed to keep you paying, not to get you out.",),
            myth="the minimum payment is a safe plan",
            ask=("Do you know the interest rate on each of your cards?", "Snowball or avalanche?"),
        ),
        Lever(
            topic="budgeting spending tracking",
            names=("tracking spending", "the 50/30/20 budget", "a monthly money review"),
            facts=("People who track spending for a month [usually find|often find] a few hundred dollars they "
                   "did not know they spent.",
                   "The 50/30/20 rule splits take-home pay into needs, wants and savings."),
            why=("What you track you notice, [and noticing is most of the change|which is why the first month of "
                 "tracking saves the most].",),
            do=("track every expense for one month", "review spending by category every month"),
            did=("tracked every expense for a month", "started a monthly money review with a partner"),
            gain=("found ${dollars} a month of spending to cut", "saved {pct}% more in a quarter"),
            take=("A budget you don't look at is a wish list.",),
            myth="budgets only work for people on tight incomes",
            ask=("What category surprised you most when you tracked your spending?", "Do you review your spending "
                 "monthly?"),
        ),
        Lever(
            topic="subscriptions spending recurring",
            names=("subscriptions", "recurring charges", "the free trial"),
            facts=("People underestimate their monthly subscriptions [by around $100 to $200|by a wide margin] "
                   "in consumer surveys.",
                   "Free trials convert to paid [most of the time|in a large share of cases] because people forget "
                   "to cancel."),
            why=("A small recurring charge never triggers the pain of paying, [which is why they pile up|so the "
                 "total grows unnoticed].",),
            do=("list every recurring charge from the last three statements", "set a reminder the day a free "
                "trial starts"),
            did=("cancelled four forgotten subscriptions", "listed every recurring charge from three statements"),
            gain=("saved about ${dollars} a year", "cut recurring spending by {pct}%"),
            take=("Your subscriptions are a budget nobody approved.",),
            myth="small subscriptions don't add up to much",
            ask=("How many subscriptions do you pay for?", "When did you last cancel one?"),
        ),
        Lever(
            topic="retirement pension employer match",
            names=("the employer match", "retirement contributions", "the pension"),
            facts=("An employer match of 50% on your contributions is an instant [50%|fifty percent] return "
                   "before any market growth.",
                   "Raising contributions by [1%|one percentage point] a year is barely felt and adds up over a "
                   "career."),
            why=("Money invested in your twenties has decades to compound, [so early contributions do most of "
                 "the work|which is why starting beats starting big].",),
            do=("contribute at least enough to get the full match", "raise your contribution by 1% every year"),
            did=("raised contributions to get the full match", "set contributions to rise 1% a year"),
            gain=("added about ${dollars} a year in free money", "raised the savings rate to {pct}%"),
            take=("Skipping the employer match is turning down a raise.",),
            myth="retirement saving can wait until you earn more",
            ask=("Are you getting your full employer match?", "What share of your pay goes to retirement?"),
        ),
        Lever(
            topic="index funds investing market timing",
            names=("market timing", "staying invested", "the best days in the market"),
            facts=("Missing the ten best days in the market over 20 years [cut returns roughly in half|halved the "
                   "result] in widely cited studies.",
                   "Most of the best days come [within weeks of the worst ones|right after big drops]."),
            why=("The best and worst days cluster together, [so selling in a panic usually means missing the "
                 "rebound|which is why time in the market beats timing it].",),
            do=("automate monthly investing and leave it alone", "write down your plan before the next drop"),
            did=("automated a monthly investment", "stopped checking the portfolio daily"),
            gain=("stayed invested through a {pct}% drop", "stopped losing sleep over the markets"),
            take=("Checking your portfolio every day is a cost, not a habit.",),
            myth="you can sell before a crash and buy back after",
            ask=("What did you do in the last market drop?", "How often do you check your investments?"),
        ),
        Lever(
            topic="savings high-yield interest cash",
            names=("a high-yield savings account", "idle cash", "the current account balance"),
            facts=("The gap between a [0.1%|near-zero] bank account and a [4%|high-yield] savings account is "
                   "[about $390|close to $400] a year on $10,000.",),
            why=("Banks count on inertia, [which is why the old account pays so little|so switching is where the "
                 "money is].",),
            do=("move idle cash to a high-yield account", "compare your savings rate once a year"),
            did=("moved the emergency fund to a high-yield account", "switched savings to an account paying 4%"),
            gain=("earned about ${dollars} more a year in interest",),
            take=("Loyalty to your bank is the most expensive habit in personal finance.",),
            myth="all savings accounts pay about the same",
            ask=("What rate does your savings account pay?", "When did you last switch banks?"),
        ),
        Lever(
            topic="budgeting pay yourself first automation",
            names=("paying yourself first", "automatic saving", "the payday transfer"),
            facts=("People saved [far more|much more] when enrolment in workplace saving was automatic than when "
                   "they had to opt in, in well-known studies.",
                   "A transfer that leaves on payday [is saved before|goes before] the month's spending starts."),
            why=("Money you never see in the current account is rarely missed, [so automation beats willpower|"
                 "which is why the order of payday matters].",),
            do=("move savings out on payday, not at the end of the month", "automate one transfer for every "
                "goal"),
            did=("set savings to leave on payday", "automated a separate transfer for each goal"),
            gain=("saved ${dollars} more a month without feeling it", "raised the savings rate to {pct}%"),
            take=("Saving what is left at the end of the month is a plan to save nothing.",),
            myth="you should save whatever is left over",
            ask=("Do you save on payday or at the end of the month?", "Which of your savings are automatic?"),
        ),
        Lever(
            topic="credit cards credit score",
            names=("your credit score", "credit utilisation", "the credit card balance"),
            facts=("Using under [30%|a third] of your credit limit is one of the main things that keeps a score "
                   "healthy.",
                   "Payment history is [the largest single factor|about a third] of a common credit score."),
            why=("Lenders read a high balance as stress, [even when you pay it off in full|so the timing of the "
                 "statement matters].",),
            do=("pay the card before the statement date", "set every card to pay the full balance "
                "automatically"),
            did=("started paying the card before the statement date", "set the cards to pay in full "
                 "automatically"),
            gain=("raised the credit score by about {pct} points", "saved ${dollars} on a loan rate"),
            take=("A credit card paid in full every month is a free tool. Anything else is expensive debt.",),
            myth="carrying a balance builds your credit score",
            ask=("Do you pay your card in full every month?", "Do you know what affects your credit score "
                 "most?"),
        ),
        Lever(
            topic="spending lifestyle inflation raises",
            names=("lifestyle creep", "a pay rise", "spending the raise"),
            facts=("Saving half of every pay rise [roughly doubles|can double] a savings rate within a few years.",
                   "Spending tends to [rise to meet|grow with] income, which is why a raise rarely ends money "
                   "stress."),
            why=("A new baseline feels normal within months, [so what you don't spend at first you never "
                 "miss|which makes the first payslip after a raise the moment to decide].",),
            do=("send half of every raise to savings before you see it", "wait three months before upgrading "
                "anything after a raise"),
            did=("sent half of a raise straight to savings", "waited three months before any upgrade"),
            gain=("saved ${dollars} more a month", "reached the savings goal {few} years early"),
            take=("A raise you spend in full is a raise you didn't get.",),
            myth="earning more fixes money problems",
            ask=("What did you do with your last pay rise?", "Has your spending grown with your income?"),
        ),
    ),
)
