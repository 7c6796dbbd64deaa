"""Distance running: easy runs, marathon training, injury prevention, shoes, pacing."""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="running",
    match=frozenset("""running run runner runners marathon half-marathon jogging pace mileage race races training
    endurance 5k 10k ultra""".split()),
    subject="your running",
    goals=("run a faster marathon", "stay injury-free", "enjoy easy runs again", "finish your first half "
           "marathon", "run more without burning out", "pace a race properly"),
    people=("a reader", "a runner I coach", "my running club's captain", "my sister", "a friend training for "
            "her first marathon", "a colleague who started at 40", "a masters runner I know", "a beginner in "
            "our club", "my brother"),
    log=("every run", "my weekly mileage", "my heart rate on easy runs"),
    signoffs=("Run easy, race hard.", "See you on the trails.", "Consistency wins races.",
              "Slow down to speed up."),
    vague=("Running is life.", "Every run counts.", "Just get out there.", "Running is good for you.",
           "Keep pushing.", "Running is a journey."),
    tags=("#running", "#marathon", "#runner", "#training", "#endurance"),
    levers=(
        Lever(
            topic="easy runs pace heart rate",
            names=("easy runs", "the 80/20 rule", "running slow"),
            facts=("Elite endurance athletes do about [80%|four fifths] of their training at an easy effort.",
                   "An easy run should feel like you could hold a conversation, often [60 to 90 seconds per km|a "
                   "minute or more per km] slower than race pace."),
            why=("Easy running builds the aerobic base without the fatigue, [so you can train more and recover "
                 "faster|which is why slow miles make fast races].",),
            do=("run your easy days slow enough to talk", "cap easy runs by heart rate for a month"),
            did=("slowed the easy runs down by a minute per km", "capped easy runs by heart rate"),
            gain=("ran a {secs}-second faster 5k within {weeks} weeks", "stopped feeling wrecked after every run"),
            take=("Most runners run their easy days too hard and their hard days too easy.",),
            myth="every run should be a workout",
            ask=("How slow are your easy runs?", "Can you hold a conversation on your easy days?"),
        ),
        Lever(
            topic="marathon training long run mileage",
            names=("the long run", "weekly mileage", "marathon build-up"),
            facts=("Most marathon plans build to a long run of [30 to 35 km|about 32 km], not the full distance.",
                   "Raising weekly mileage by [about 10%|no more than a tenth] a week is the usual guard against "
                   "overuse injuries."),
            why=("Endurance comes from time on your feet across weeks, [not from one heroic run|so the long run "
                 "is one piece, not the whole].",),
            do=("build weekly mileage by about 10% a week", "add a cut-back week every fourth week"),
            did=("added a cut-back week every fourth week", "spread mileage over five days instead of three"),
            gain=("finished the marathon {few} minutes faster", "made it to race day without an injury"),
            take=("You don't need to run 42 km before race day.",),
            myth="you must run the full marathon distance in training",
            ask=("What was your longest run before your first marathon?", "Do you plan cut-back weeks?"),
        ),
        Lever(
            topic="injury prevention strength",
            names=("strength training", "injury prevention", "calf raises"),
            facts=("Strength training [cut running injuries by about a third|lowered sports injuries by around "
                   "a third] in a large review of trials.",
                   "[Two|Two short] strength sessions a week are enough for most runners."),
            why=("Stronger muscles and tendons absorb more load per stride, [so less reaches the joints|which is "
                 "why strength work shows up as fewer injuries].",),
            do=("add two 20-minute strength sessions a week", "do calf raises and single-leg squats after easy "
                "runs"),
            did=("added two strength sessions a week", "started doing calf raises after every easy run"),
            gain=("stayed injury-free for {weeks} weeks straight", "cut aches after long runs by {pct}%"),
            take=("If you only run, you are skipping the part that keeps you running.",),
            myth="runners only need to run",
            ask=("Do you strength train as a runner?", "What was your last running injury?"),
        ),
        Lever(
            topic="running shoes gear",
            names=("running shoes", "shoe mileage", "carbon plates"),
            facts=("Running shoes lose [much of their cushioning|a good share of their cushioning] somewhere "
                   "between 500 and 800 km.",
                   "Carbon-plated racing shoes improved running economy by [about 4%|around 4%] in lab tests."),
            why=("Comfort is the best guide to a training shoe, [which is why trials of 'correct' shoe types "
                 "found little|so fit beats category].",),
            do=("log the kilometres on each pair", "choose training shoes by comfort, not by category"),
            did=("started logging kilometres per pair", "picked training shoes by comfort alone"),
            gain=("stopped the shin aches that came with worn shoes", "ran {km} km more per week without pain"),
            take=("The best running shoe is the one that feels good. The rest is marketing.",),
            myth="you need a shoe matched to your foot type",
            ask=("How many kilometres are on your current shoes?", "Do you race in carbon plates?"),
        ),
        Lever(
            topic="pace race pacing marathon",
            names=("race pacing", "negative splits", "the first 5 km"),
            facts=("Most marathon world records were run with [even or negative splits|the second half as fast "
                   "or faster than the first].",
                   "Starting [10 seconds per km|a little] too fast costs far more in the last 10 km than it gains "
                   "early."),
            why=("Going out too fast burns glycogen early, [so the wall comes sooner|which is why the last 10 km "
                 "decide the race].",),
            do=("run the first 5 km slightly slower than goal pace", "write your splits on your wrist"),
            did=("ran the first 5 km slower than goal pace", "paced by effort for the first half"),
            gain=("ran a {few}-minute personal best", "passed {pct}% of the field in the last 10 km"),
            take=("The first 5 km of a marathon can't win you the race, but they can lose it.",),
            myth="banking time early makes up for slowing later",
            ask=("Do you usually run negative or positive splits?", "How fast do you start your races?"),
        ),
        Lever(
            topic="recovery sleep rest days",
            names=("rest days", "recovery", "sleep for runners"),
            facts=("Athletes who slept under [eight hours|7 hours] had [about 1.7 times|far] more injuries in a "
                   "study of adolescent athletes.",
                   "Fitness gains from a hard workout show up [a week or two|days to weeks] later, during "
                   "recovery."),
            why=("Training is the stimulus and rest is where the adaptation happens, [so skipping rest skips the "
                 "gain|which is why more is not always better].",),
            do=("take one full rest day a week", "go to bed 30 minutes earlier in heavy training weeks"),
            did=("took one full rest day every week", "went to bed earlier during the marathon block"),
            gain=("felt fresh for {few} key workouts in a row", "stopped the plateau after {weeks} weeks"),
            take=("Your rest day is a training day.",),
            myth="more training always means more fitness",
            ask=("How many rest days do you take a week?", "Do you sleep more in heavy training weeks?"),
        ),
        Lever(
            topic="cadence form technique",
            names=("cadence", "overstriding", "running form"),
            facts=("Raising cadence by [5 to 10%|about 5%] reduced load on the knee and hip in lab studies.",
                   "Overstriding, landing with the foot far in front of the body, [is linked to higher braking "
                   "forces|raises braking forces with every step]."),
            why=("A shorter, quicker stride lands the foot closer under the hips, [which cuts the braking force|so "
                 "each step brakes less].",),
            do=("raise your cadence by 5% with a metronome", "focus on landing under your hips"),
            did=("raised cadence by 5% with a metronome app", "practised short, quick strides on easy runs"),
            gain=("stopped the knee pain on long runs", "cut braking forces enough to feel smoother"),
            take=("There is no perfect running form, but there is a lot of bad overstriding.",),
            myth="180 steps a minute is the right cadence for everyone",
            ask=("Do you know your running cadence?", "Have you ever changed your form?"),
        ),
        Lever(
            topic="fuel nutrition marathon carbs",
            names=("race fuel", "carbs during a marathon", "gels"),
            facts=("Taking [60 to 90 g|around 60 g or more] of carbohydrate an hour is the usual guidance for "
                   "races over two hours.",
                   "The gut can be trained to handle more carbohydrate, [in a few weeks of practice|with practice "
                   "on long runs]."),
            why=("Your glycogen stores last about [90 minutes to two hours|two hours] of hard running, [which is "
                 "why fuel decides the last hour|so the wall is a fuelling problem].",),
            do=("practise race fuel on every long run", "take a gel every 30 to 40 minutes"),
            did=("practised race fuelling on long runs", "took a gel every 35 minutes in the race"),
            gain=("ran the last 10 km {few} minutes faster", "stopped hitting the wall"),
            take=("Nothing new on race day includes the gels.",),
            myth="you can push through the wall with willpower",
            ask=("How much do you eat during a marathon?", "Do you train with gels?"),
        ),
        Lever(
            topic="intervals speed workouts",
            names=("interval sessions", "speed work", "the weekly workout"),
            facts=("One or two quality sessions a week is what most marathon plans use, [the rest is easy|with "
                   "everything else easy].",
                   "Intervals of [3 to 5 minutes|four minutes] near 5k pace are a classic way to raise VO2max."),
            why=("Hard sessions work only when the legs are fresh, [so easy days are what make them possible|"
                 "which is why the hard days need the easy ones].",),
            do=("keep hard sessions to two a week", "run the intervals at an effort you could repeat once more"),
            did=("cut hard sessions to two a week", "ran intervals at a pace that left one more in the legs"),
            gain=("ran a {secs}-second faster 10k", "stopped fading in the last repetition"),
            take=("If every run hurts, none of them is really hard.",),
            myth="more hard sessions make you faster",
            ask=("How many hard sessions do you run a week?", "What is your favourite interval session?"),
        ),
        Lever(
            topic="taper marathon race week",
            names=("the taper", "race week", "the last three weeks"),
            facts=("Most marathon tapers cut mileage by [about 40 to 60%|roughly half] over two to three weeks.",
                   "A good taper improved race performance by [around 2 to 3%|a few percent] in a review of "
                   "studies."),
            why=("Fitness fades slowly while fatigue clears fast, [so running less before a race leaves you "
                 "fitter on the day|which is why the taper feels lazy and works].",),
            do=("cut volume but keep some race-pace running", "sleep more in the taper weeks"),
            did=("cut mileage by half but kept race-pace strides", "went to bed earlier during the taper"),
            gain=("ran a {few}-minute personal best", "felt fresh at the start for the first time"),
            take=("Nobody has ever lost a marathon by resting too much in the last two weeks.",),
            myth="you lose fitness if you run less before a race",
            ask=("How long is your taper?", "Do you feel sluggish or fresh on race day?"),
        ),
        Lever(
            topic="heart rate zones easy runs",
            names=("heart rate training", "zone 2", "the heart rate cap"),
            facts=("Heart rate drifts up [several beats|5 to 10 beats] over a long run at the same pace, "
                   "especially in heat.",
                   "Zone 2 is roughly the effort you can hold while breathing through your nose."),
            why=("Heart rate reacts to heat, sleep and stress, [so it guards easy days better than pace|which is "
                 "why a cap keeps easy runs easy on bad days].",),
            do=("cap easy runs by heart rate in summer", "check resting heart rate in the morning before a hard "
                "day"),
            did=("capped easy runs by heart rate through the summer", "checked resting heart rate before hard "
                 "sessions"),
            gain=("stopped overcooking easy days in the heat", "skipped {few} workouts that would have gone "
                  "badly"),
            take=("Pace is what you want. Heart rate is what it costs.",),
            myth="a run is easy if the pace is slow",
            ask=("Do you train by heart rate or by pace?", "What is your easy-run heart rate?"),
        ),
    ),
)
