"""The pack for a niche no other pack knows: levers about practice, measured in the account's own topic.

Every sentence names `{topic}` (one of the account's topics), so the posts stay on the account's
subject even though the writer knows nothing else about it. The claims are about how people learn
and keep a practice, which holds in most niches; add a pack for a niche to get its own facts.
"""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="generic",
    match=frozenset(),
    subject="your results",
    goals=("get better at {topic}", "stick with {topic}", "make {topic} a habit", "see progress in {topic}"),
    people=("a reader", "a friend", "a colleague", "my brother", "someone in my community", "a beginner I coached",
            "a client", "my neighbour", "a student of mine", "an old teammate"),
    log=("my {topic} sessions", "every {topic} session", "my time on {topic}"),
    signoffs=("Keep going.", "Start this week.", "One step at a time.", "Small wins count.",
              "Let me know how it goes."),
    vague=("{Topic} is a journey.", "{Topic} takes time.", "Everyone should care more about {topic}.",
           "{Topic} changed my life.", "There is so much to learn about {topic}."),
    tags=("#learning", "#habits", "#practice", "#progress"),
    levers=(
        Lever(
            topic="practice routine",
            names=("a fixed weekly slot for {topic}", "a routine for {topic}"),
            facts=("People who book a fixed slot for {topic} keep at it about twice as long as those who fit it in "
                   "when they can.",
                   "Most people who drop {topic} do it in the first three weeks, before any habit has formed."),
            why=("A fixed slot removes the daily decision, which is where most plans quietly die.",
                 "A habit forms from repetition in the same context, so the same time and place do half the work."),
            do=("book two fixed slots for {topic} in your calendar", "tie {topic} to something you already do "
                "every day"),
            did=("booked two fixed evenings a week for {topic}", "tied {topic} to the morning coffee"),
            gain=("kept it up for {weeks} weeks straight", "doubled the hours spent on {topic}"),
            take=("Motivation is overrated for {topic}. A calendar slot beats it.",),
            myth="you need motivation to stick with {topic}",
            ask=("When in your week does {topic} actually happen?", "Do you have a fixed time for {topic}?"),
        ),
        Lever(
            topic="feedback measure progress",
            names=("a simple log", "measuring your progress in {topic}"),
            facts=("Writing down one number after each {topic} session is enough to see a trend within a month.",
                   "People overestimate their progress in {topic} when they go by memory, often by a wide margin."),
            why=("A log turns a vague feeling into a trend, which means you notice a plateau weeks earlier.",
                 "Memory keeps the good days and drops the dull ones, so only a record shows what really changed."),
            do=("write one number down after every {topic} session", "review your {topic} log every Sunday"),
            did=("kept a one-line log of every {topic} session", "started a Sunday review of the {topic} log"),
            gain=("spotted a plateau {few} weeks earlier than usual", "improved about {pct}% in {weeks} weeks"),
            take=("If you don't write it down, you are guessing about your progress in {topic}.",),
            myth="you can feel whether you are getting better at {topic}",
            ask=("Do you keep any record of your {topic}?", "How do you know you are getting better at {topic}?"),
        ),
        Lever(
            topic="beginner basics fundamentals",
            names=("the basics of {topic}", "fundamentals"),
            facts=("Most of the gains in {topic} come from a handful of basics done every week.",
                   "Beginners who spend their first month on fundamentals tend to overtake those who jump ahead."),
            why=("Advanced tricks only pay off on top of solid basics, because they multiply what is already there.",
                 "The basics get repeated the most, so a small improvement in them shows up everywhere."),
            do=("spend the first 20 minutes of every session on the basics", "pick one fundamental and drill it "
                "for a week"),
            did=("spent the first 20 minutes of every session on the basics", "drilled one fundamental for a "
                 "whole week"),
            gain=("made more progress in {weeks} weeks than in the months before", "cut beginner mistakes by "
                  "about {pct}%"),
            take=("Advanced {topic} advice is mostly a distraction for beginners.",),
            myth="you need the advanced techniques to improve at {topic}",
            ask=("What is the one basic of {topic} you skip?", "What do you wish you had learned first in {topic}?"),
        ),
        Lever(
            topic="rest recovery burnout",
            names=("rest days", "time away from {topic}"),
            facts=("Taking one full day off a week from {topic} usually costs nothing and often helps.",
                   "People who push {topic} every single day are the ones most likely to quit within {weeks} weeks."),
            why=("Rest is where the practice settles in, which is why a short break often ends with a jump.",
                 "Fatigue builds quietly, so by the time you feel it you have been practising badly for days."),
            do=("take one full day off {topic} every week", "plan an easy week every month"),
            did=("took one full day off {topic} every week", "planned an easy week every month"),
            gain=("came back sharper after every break", "stopped losing {few} weeks a year to burnout"),
            take=("More hours of {topic} is not always more progress.",),
            myth="the more you do {topic}, the faster you improve",
            ask=("When did you last take a real break from {topic}?", "Do you plan rest, or wait until you need it?"),
        ),
        Lever(
            topic="learning from others community",
            names=("asking for feedback", "learning from people ahead of you"),
            facts=("One hour of feedback from someone ahead of you in {topic} can save weeks of trial and error.",
                   "Most people in {topic} never ask for feedback, mostly out of embarrassment."),
            why=("Someone outside your head sees the mistakes you have stopped noticing.",
                 "Feedback closes the loop faster than practice alone, because it tells you what to change."),
            do=("ask one person ahead of you for feedback this month", "share one piece of work in progress each "
                "week"),
            did=("asked someone more experienced for feedback every month", "shared work in progress every week"),
            gain=("fixed a habit they had for {few} years", "improved faster in {weeks} weeks than in the year "
                  "before"),
            take=("Practising {topic} alone is the slow way.",),
            myth="you should only share your {topic} work when it is finished",
            ask=("Who gives you honest feedback on your {topic}?", "When did you last ask for feedback on {topic}?"),
        ),
        Lever(
            topic="small steps goals planning",
            names=("small goals", "a smaller first step"),
            facts=("A goal you can finish in {weeks} weeks is far more likely to be finished than a yearly one.",
                   "Cutting a {topic} goal in half usually doubles the chance you reach it."),
            why=("A short goal gives you a win early, and early wins are what keep people going.",
                 "Big goals hide the next step, so people stall before they start."),
            do=("cut your {topic} goal to something you can finish this month", "write down the very next step, "
                "not the whole plan"),
            did=("cut the {topic} goal to a one-month target", "wrote down only the next step each week"),
            gain=("finished {few} small goals in the time one big one used to take", "stuck with {topic} for "
                  "{weeks} weeks"),
            take=("Big goals are the main reason people quit {topic}.",),
            myth="ambitious goals keep you motivated",
            ask=("What is your next step in {topic}, in one sentence?", "Is your {topic} goal for this month or "
                 "this year?"),
        ),
        Lever(
            topic="teaching explaining learning",
            names=("teaching what you learn", "explaining {topic} to someone else"),
            facts=("Explaining {topic} to a beginner shows the gaps in your own understanding within minutes.",
                   "People who expect to teach a topic remember more of it than those who only study it, in "
                   "learning studies."),
            why=("To explain something you have to order it, [so the missing steps become obvious|which is where "
                 "the real learning happens].",),
            do=("explain one thing about {topic} to a friend this week", "write a short note on what you learned "
                "after every session"),
            did=("explained one idea about {topic} to a friend each week", "wrote a short note after every "
                 "session"),
            gain=("remembered about {pct}% more after a month", "found {few} gaps they had not noticed"),
            take=("You don't understand {topic} until you can explain it simply.",),
            myth="you should master {topic} before you teach it",
            ask=("Who do you explain {topic} to?", "What is the hardest part of {topic} to explain?"),
        ),
        Lever(
            topic="tools equipment gear",
            names=("new tools", "gear for {topic}", "the next purchase"),
            facts=("Most beginners in {topic} buy [more gear than they use|tools before they need them] in the "
                   "first year.",
                   "A basic set used every week beats an expensive one used once a month."),
            why=("New gear feels like progress, [so it replaces the practice it was meant to support|which is "
                 "why spending can stall learning].",),
            do=("use what you have for {weeks} weeks before buying anything", "write down what problem a purchase "
                "solves before buying it"),
            did=("stopped buying gear for {weeks} weeks", "only bought tools that solved a written-down "
                 "problem"),
            gain=("saved about ${dollars}", "practised {pct}% more in the same weeks"),
            take=("Your next purchase will not make you better at {topic}. Your next session might.",),
            myth="better gear makes you better at {topic}",
            ask=("What was your least-used purchase for {topic}?", "What would you buy first again?"),
        ),
        Lever(
            topic="mistakes failure learning",
            names=("mistakes", "a mistake log", "what went wrong"),
            facts=("Keeping a short log of mistakes in {topic} makes repeated ones easy to spot within a few "
                   "weeks.",
                   "Most mistakes in {topic} come back in the same few forms."),
            why=("A written mistake is a pattern you can see, [so you fix the habit instead of the incident|which "
                 "is why logs beat good intentions].",),
            do=("write down every mistake in {topic} with one line on why", "review the mistake log every "
                "month"),
            did=("kept a one-line mistake log", "reviewed the mistake log every month"),
            gain=("stopped repeating {few} old mistakes", "cut errors by about {pct}%"),
            take=("Mistakes you don't write down are mistakes you will make again.",),
            myth="mistakes in {topic} are best forgotten",
            ask=("What mistake in {topic} do you keep repeating?", "Do you keep a record of what goes wrong?"),
        ),
    ),
)
