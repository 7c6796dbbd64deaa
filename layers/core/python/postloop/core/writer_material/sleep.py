"""Sleep science: caffeine, light, naps, sleep debt, body clock, REM and memory, insomnia, and more.

The figures are the commonly cited ones (half-lives, lux levels, study effects), rounded as a
science writer would round them for a post.
"""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="sleep",
    match=frozenset("""sleep sleeping slept rest insomnia circadian nap melatonin rem dream dreams bedtime
    tired fatigue""".split()),
    subject="your sleep",
    goals=("fall asleep faster", "sleep through the night", "wake up less groggy", "get more deep sleep",
           "stop waking at 3 am", "feel rested on weekdays", "get by on less coffee", "stop dreading the alarm"),
    people=("a reader", "one of my study participants", "a night-shift nurse I interviewed", "my brother",
            "a friend with a newborn", "a student in my lab", "a colleague", "a marathon runner I work with",
            "my neighbour", "a software engineer who wrote to me", "my mother", "a teacher I met at a talk",
            "a pilot I spoke to", "my partner", "a chef who works late", "a retired engineer in one of my studies"),
    log=("my sleep", "every night's sleep", "my bedtimes and wake times", "my sleep on a wearable",
         "how rested I felt each morning"),
    signoffs=("Sleep well.", "Your 3 am self will thank you.", "Rest is a skill. Practise it.",
              "Good night, and good mornings.", "Protect the first hour of your night.",
              "Try it for a week and see."),
    vague=("Sleep is so underrated.", "Everyone should take their sleep more seriously.",
           "Rest matters more than you think.", "Good sleep changes everything.",
           "Most of us are tired all the time.", "Your body needs rest, listen to it.",
           "Nobody talks enough about sleep.", "Prioritise your sleep, seriously."),
    tags=("#sleep", "#sleepscience", "#circadian", "#insomnia", "#rest"),
    levers=(
        Lever(
            topic="caffeine coffee caffeine and sleep",
            names=("the afternoon coffee", "late caffeine", "the 3 pm espresso", "your caffeine curfew"),
            facts=("Caffeine has a half-life of about five hours, so [half of a 3 pm coffee is still in you at 8 pm"
                   "|a 4 pm latte is still half there at 9 pm|the cup you drink at 2 pm is still half working at 7].",
                   "[A 200 mg coffee at 4 pm still leaves|One strong coffee at 4 pm leaves] around 100 mg of "
                   "caffeine in your blood at 9 pm[, about as much as a fresh espresso|].",
                   "A quarter of the caffeine from a lunchtime coffee can still be [circulating|in your blood] at "
                   "midnight.",
                   "In one study, 400 mg of caffeine taken six hours before bed still cut [total sleep by about an "
                   "hour|about an hour off the night]."),
            why=("Caffeine [blocks|sits on] the adenosine receptors, which means the sleep pressure you built "
                 "[all day|since morning] [goes unfelt|stays hidden] until it wears off.",
                 "Late caffeine rarely stops you falling asleep; [it takes deep sleep from the first half of the "
                 "night|what it steals is the deep sleep early in the night], because adenosine cannot do its job.",
                 "You can fall asleep over caffeine, but the brain runs lighter all night, [which is why you wake "
                 "up tired after eight hours|so eight hours in bed feels like six]."),
            do=("move your last coffee to [before noon|the morning]",
                "switch the [afternoon|post-lunch] cup to decaf",
                "set a caffeine curfew [eight|nine] hours before bed"),
            did=("moved the last coffee of the day to [before noon|the morning]",
                 "switched the [afternoon|post-lunch] coffee to decaf",
                 "set a caffeine curfew at [1 pm|noon]", "dropped the [4 pm|mid-afternoon] espresso"),
            gain=("fell asleep {mins} minutes sooner", "got {pct}% more deep sleep [on the tracker|by the "
                  "wearable's count]", "woke up {few} fewer times a night", "stopped waking up tired after a full "
                  "night"),
            take=("The afternoon coffee is the most underrated sleep problem [there is|in the office].",
                  "Falling asleep fine after an evening espresso proves nothing about [your sleep|how well you "
                  "sleep].",
                  "Decaf after lunch would fix more bad nights than any app."),
            myth="[coffee only matters if it keeps you awake|you are immune to caffeine if you can still fall "
                 "asleep]",
            ask=("What time is your last coffee of the day?",
                 "Could you go [two weeks|a month] without caffeine after noon?",
                 "How many coffees do you drink after lunch?"),
        ),
        Lever(
            topic="light exposure morning light circadian rhythm",
            names=("morning light", "daylight in the first hour", "a morning walk"),
            facts=("[Ten|Fifteen] minutes of outdoor light in the first hour after waking [tells|shows] your "
                   "circadian clock [the day has started|that it is morning].",
                   "Even an overcast morning outside gives around 10,000 lux, against roughly 500 lux at a "
                   "[bright office desk|well-lit kitchen table].",
                   "[Twenty minutes outside before 9 am|A short walk in daylight after breakfast] is enough for most "
                   "people to [shift|pull] their evening sleepiness earlier.",
                   "Office workers with windows near their desks slept [about 45 minutes|close to an hour] more a "
                   "night in one study than those without."),
            why=("Morning light sets the timer for melatonin, which means it [rises|starts climbing] earlier that "
                 "evening and sleep comes sooner.",
                 "Your body clock runs a little longer than 24 hours, so it needs a light signal each morning to "
                 "[stay on time|keep from drifting later].",
                 "Light-sensitive cells in the eye report straight to the clock in your brain, and they care about "
                 "brightness, [not how sunny it feels|which indoor lighting rarely has]."),
            do=("get outside for ten minutes within an hour of waking",
                "drink your first coffee [on the balcony|by an open window|on the doorstep]",
                "walk part of the way to work in daylight"),
            did=("started walking ten minutes outside every morning", "moved breakfast [next to the window|out to "
                 "the balcony]", "got off the bus one stop early to walk in daylight",
                 "moved the desk next to the window"),
            gain=("fell asleep {mins} minutes earlier", "stopped needing the snooze button",
                  "woke up {mins} minutes before the alarm", "felt sleepy at a sensible hour again"),
            take=("A morning walk does more for your sleep than any supplement [on the shelf|you can buy].",
                  "Your sleep problem probably starts at 8 am, not at bedtime.",
                  "Sunglasses on the morning commute are quietly wrecking a lot of evenings."),
            myth="[sleep problems start at bedtime|what you do in the evening decides how you sleep]",
            ask=("Do you see daylight in the first hour after you wake up?",
                 "How long after waking do you first step outside?",
                 "Is your desk near a window?"),
        ),
        Lever(
            topic="light exposure evening light screens",
            names=("bright evening light", "the ceiling light at 10 pm", "screens in bed"),
            facts=("Bright overhead light in the evening can delay melatonin by an hour or more.",
                   "A living room at night is often 100 to 200 lux, [plenty to tell your clock it is still daytime"
                   "|bright enough to hold melatonin back].",
                   "A phone at reading distance gives off far less light than the [ceiling lamp above it|lamp over "
                   "the sofa].",
                   "Half of the effect of evening light on melatonin comes at levels as low as [30 lux|a dim table "
                   "lamp] in sensitive people."),
            why=("Your clock reads bright light as daytime, which pushes melatonin later and [the urge to sleep "
                 "with it|your bedtime along with it].",
                 "The real cost of the phone in bed is the scrolling, because it keeps your mind busy [long after "
                 "you meant to stop|well past the time you planned].",
                 "Light from above hits the part of the eye that talks to the clock most, [which is why ceiling "
                 "lights matter more than a lamp at hip height|so where the light comes from matters as much as how "
                 "bright it is]."),
            do=("dim the lights for the last hour before bed", "switch to lamps instead of ceiling lights after 9 pm",
                "charge the phone outside the bedroom"),
            did=("swapped the ceiling lights for two warm lamps after 9 pm", "dimmed every light an hour before bed",
                 "started charging the phone in the kitchen", "put the living room on dimmers"),
            gain=("started feeling sleepy {mins} minutes earlier", "fell asleep {mins} minutes sooner",
                  "cut late-night scrolling by about {pct}%"),
            take=("Your phone is not the main reason you can't sleep. The ceiling light above it might be.",
                  "Blue-light glasses are [a fix for the wrong problem|solving the wrong problem].",
                  "Night mode on your phone is a comfort feature, not a sleep feature."),
            myth="blue-light glasses fix late-night screen use",
            ask=("How bright is your living room at 10 pm?",
                 "Do you dim the lights before bed, or go straight from full brightness to dark?",
                 "Where does your phone sleep at night?"),
        ),
        Lever(
            topic="naps nap napping",
            names=("the afternoon nap", "long naps", "a 20-minute nap", "the post-lunch nap"),
            facts=("A nap of [10 to 20|about 15] minutes keeps you out of deep sleep, so you wake up clear.",
                   "Nap for [45 minutes|three quarters of an hour] and you often wake from deep sleep, which is why "
                   "you feel worse than before.",
                   "A 90-minute nap covers a full sleep cycle, so you wake from light sleep [instead of deep sleep"
                   "|rather than in the middle of slow waves].",
                   "A [26-minute|short] nap improved pilots' performance by about a third in a NASA study."),
            why=("Sleep inertia is strongest when you wake from deep sleep, because your brain is still running "
                 "slow waves.",
                 "A long nap spends the sleep pressure you were saving for the night, which makes [bedtime harder"
                 "|falling asleep later that night harder].",
                 "The dip after lunch is part of the body clock, not the meal, [which is why it hits even when you "
                 "skip lunch|so the early afternoon is the natural time to nap]."),
            do=("set a 20-minute alarm for every nap", "nap before 3 pm or not at all",
                "keep naps under 20 minutes or make them a full 90"),
            did=("capped every nap at 20 minutes", "moved the nap to right after lunch",
                 "swapped the hour-long nap for a 20-minute one", "stopped napping after 4 pm"),
            gain=("stopped waking up groggy from naps", "fell asleep {mins} minutes sooner at night",
                  "felt sharp for {few} hours after each nap"),
            take=("Long naps are not laziness. They are bad timing.",
                  "Most people who say naps don't work for them are napping for the wrong length of time.",
                  "A 20-minute nap beats a third coffee, and it's not close."),
            myth="any nap is a good nap",
            ask=("How long do your naps usually last?",
                 "Do you wake up from a nap feeling better or worse than before?",
                 "Would your workplace let you nap for 20 minutes?"),
        ),
        Lever(
            topic="sleep debt weekend lie-in catch up",
            names=("the weekend lie-in", "sleep debt", "catch-up sleep"),
            facts=("Sleeping in by two hours on Saturday shifts your body clock later, [much like|about as much as] "
                   "flying one time zone west.",
                   "Losing an hour a night for five nights adds up to a five-hour debt, and one long lie-in does not "
                   "clear it.",
                   "After ten nights of six hours, people [perform about as badly on attention tests|miss about as "
                   "many cues on attention tests] as after a night without sleep.",
                   "People who slept in at weekends after a short week [still ate more and gained weight|kept the "
                   "metabolic costs of short sleep] in a 2019 study."),
            why=("A lie-in moves your morning light later, which moves melatonin later, which is why Sunday night "
                 "is so hard.",
                 "Sleep debt shows up in reaction time long before you feel tired, so you are the worst judge of "
                 "your own debt.",
                 "The brain adapts to feeling tired faster than it adapts to being tired, [so after a week of short "
                 "nights you feel fine and perform badly|which is how a debt hides]."),
            do=("keep your wake time within an hour on weekends", "go to bed earlier instead of sleeping in",
                "pay back a short night with an early night, not a late morning"),
            did=("kept the same wake time on Saturdays and Sundays", "traded the weekend lie-in for an earlier "
                 "Friday night", "paid back short nights with early nights"),
            gain=("stopped dreading Monday mornings", "needed {few} fewer coffees on Mondays",
                  "fell asleep {mins} minutes sooner on Sunday nights"),
            take=("Sleeping in on Saturday doesn't pay back your sleep debt. It gives you jet lag.",
                  "The weekend lie-in is why Monday feels so bad.",
                  "Feeling fine on six hours is not the same as being fine on six hours."),
            myth="you can catch up on sleep at the weekend",
            ask=("How much later do you wake up on weekends than on weekdays?",
                 "Do Sunday nights feel harder than the rest of the week?",
                 "How many hours do you really sleep on a work night?"),
        ),
        Lever(
            topic="alcohol rem sleep insomnia",
            names=("the nightcap", "a glass of wine at bedtime", "evening alcohol"),
            facts=("Your liver clears roughly one drink an hour, so two glasses at 9 pm are still working at 11.",
                   "Two drinks close to bedtime can [suppress|hold back] REM sleep for most of the first half of "
                   "the night.",
                   "Alcohol shortens the time it takes to fall asleep, then [raises|multiplies] wake-ups in the "
                   "second half of the night.",
                   "Heart rate stays [several beats higher|higher] for most of the night after two or more drinks, "
                   "[by wearable data from thousands of users|in large wearable studies]."),
            why=("Alcohol sedates you at first, then fragments the second half of the night as it wears off, "
                 "which is why you wake at 3 am.",
                 "It holds back REM sleep early in the night, so the brain tries to catch up later with shallow, "
                 "broken REM.",
                 "Sedation is not sleep: the brain waves under alcohol look different from natural deep sleep, "
                 "[so you lose the repair work|which is why you wake up unrested]."),
            do=("finish your last drink at least three hours before bed", "keep alcohol to the early evening",
                "swap the nightcap for a herbal tea on weeknights"),
            did=("stopped drinking after dinner on weeknights", "moved the glass of wine to early evening",
                 "swapped the nightcap for herbal tea", "went a month without alcohol"),
            gain=("woke up {few} fewer times a night", "got {pct}% more REM sleep on the tracker",
                  "stopped waking at 3 am", "saw the night-time heart rate drop by {few} beats"),
            take=("A nightcap is the worst sleep aid in the house.",
                  "Falling asleep fast after a drink is not the same as sleeping well.",
                  "Dry January is secretly a sleep experiment, and most people pass it."),
            myth="a drink helps you wind down for sleep",
            ask=("Do you sleep better or worse after a glass of wine?",
                 "What time is your last drink on a night out?",
                 "Have you ever tracked your sleep on a night with and without alcohol?"),
        ),
        Lever(
            topic="temperature bedroom insomnia",
            names=("a warm bedroom", "bedroom temperature", "the evening shower"),
            facts=("Your core temperature has to drop by about one degree for sleep to start.",
                   "Most people sleep best in a bedroom around 18°C, [cooler than they keep it|a few degrees below "
                   "what the thermostat usually says].",
                   "A warm shower one to two hours before bed shortens the time to fall asleep by about ten minutes "
                   "on average.",
                   "Warm feet help: socks in bed shortened the time to fall asleep [by around 7 minutes|a little] in "
                   "one small study."),
            why=("A warm shower helps because it pulls blood to the skin, which dumps heat from your core.",
                 "A hot room keeps your core temperature up, which means more wake-ups in the second half of the "
                 "night.",
                 "Your hands and feet are the body's radiators, [so warming them lets core heat escape|which is why "
                 "cold feet keep you awake]."),
            do=("set the bedroom to around 18°C", "take a warm shower an hour before bed",
                "swap the heavy duvet for a lighter one"),
            did=("turned the bedroom heating down to 18°C", "added a warm shower an hour before bed",
                 "swapped the winter duvet for a lighter one", "started wearing socks to bed"),
            gain=("woke up {few} fewer times a night", "fell asleep {mins} minutes faster",
                  "stopped waking up hot at 4 am"),
            take=("Most bedrooms are too warm for good sleep, and nobody checks.",
                  "A cosy bedroom is a comfortable place to lie awake.",
                  "Your thermostat is a better sleep aid than your mattress."),
            myth="a warm, cosy bedroom helps you sleep",
            ask=("What temperature is your bedroom at night?",
                 "Do you sleep better in winter or in summer?",
                 "Socks in bed: yes or no?"),
        ),
        Lever(
            topic="sleep and memory learning rem sleep",
            names=("sleep after learning", "the all-nighter", "REM sleep"),
            facts=("Most REM sleep comes in the last third of the night, so cutting your night short by two hours "
                   "costs mostly REM.",
                   "A night without sleep cuts the ability to form new memories by around 40% in lab studies.",
                   "People who sleep after learning a list of words recall [noticeably more of it|more of it] the "
                   "next day than those who stay awake.",
                   "Musicians who slept after practising a new piece played it [about 20% faster|faster and more "
                   "accurately] the next day, without more practice."),
            why=("During deep sleep the brain replays the day's learning and moves it into long-term storage.",
                 "REM sleep helps sort emotional memories, which is why a bad night makes everything feel worse.",
                 "Sleep spindles, short bursts of brain activity in light sleep, [are linked to how much of a new "
                 "skill sticks|track how well motor skills improve overnight]."),
            do=("sleep on it before a big exam instead of cramming", "study in the evening and sleep a full night "
                "after", "review the hardest material just before bed"),
            did=("stopped pulling all-nighters before exams", "studied in the evening and slept a full eight hours "
                 "after", "reviewed the hardest material just before bed"),
            gain=("remembered about {pct}% more of the material the next day", "scored {pct}% higher on practice "
                  "tests", "stopped blanking in exams"),
            take=("An all-nighter before an exam is the worst study plan there is.",
                  "The last hours of cramming cost more than they teach.",
                  "Practice makes perfect only after you sleep on it."),
            myth="the last hours of study are the ones that count",
            ask=("Have you ever pulled an all-nighter before an exam?",
                 "Do you remember things better after a good night's sleep?",
                 "Do you practise new skills in the morning or the evening?"),
        ),
        Lever(
            topic="insomnia awake lying awake",
            names=("lying awake", "3 am wake-ups", "getting out of bed"),
            facts=("Sleep clinics advise getting up after about 20 minutes awake in bed.",
                   "CBT-I, the first-line treatment for chronic insomnia, helps around 70% of the people who finish "
                   "it.",
                   "About one adult in ten has chronic insomnia, and most never ask anyone about it.",
                   "Waking once or twice a night is normal; [most people just don't remember it|the brain usually "
                   "forgets wake-ups shorter than a few minutes]."),
            why=("Lying awake teaches the brain that bed is a place for worry, and that link gets stronger every "
                 "night.",
                 "Getting up breaks the link between the bed and being awake, so the bed means sleep again.",
                 "Clock-watching adds a deadline to being awake, [and deadlines raise stress hormones|which turns a "
                 "short wake-up into a long one]."),
            do=("get up after 20 minutes awake and read something dull in dim light",
                "go back to bed only when you feel sleepy", "turn the clock to face the wall"),
            did=("started getting up after 20 minutes awake instead of lying there",
                 "kept a dull book and a dim lamp in the living room for wake-ups",
                 "stopped working from bed", "turned the alarm clock to face the wall"),
            gain=("fell back asleep {mins} minutes faster", "halved the nights spent lying awake",
                  "cut wake-ups to {few} a week"),
            take=("Trying harder to sleep is the most common way to make insomnia worse.",
                  "Staying in bed when you can't sleep is bad advice.",
                  "The clock on your nightstand is working against you."),
            myth="staying in bed is the best way to get back to sleep",
            ask=("What do you do when you wake at 3 am and can't get back to sleep?",
                 "How long do you lie awake before you get up?",
                 "Do you check the time when you wake up at night?"),
        ),
        Lever(
            topic="circadian rhythm wake time body clock",
            names=("a fixed wake time", "your body clock", "the weekend alarm"),
            facts=("A fixed wake time does more for your body clock than a fixed bedtime.",
                   "Shifting your wake time by more than an hour between days is enough to blur your clock's timing.",
                   "Your circadian clock needs about a day to shift one hour, which is why a two-hour change takes "
                   "most of a weekend to undo.",
                   "Irregular sleepers in a [Harvard|college] study had lower grades than regular ones [who slept "
                   "the same total hours|with the same total sleep]."),
            why=("The clock anchors on when you see light and start moving, which means the morning sets the "
                 "evening.",
                 "Sleep pressure builds from the moment you wake, so a regular wake time makes you sleepy at a "
                 "regular time.",
                 "Every organ keeps its own clock, [and irregular sleep sets them against each other|so a moving "
                 "wake time leaves your gut and your brain on different schedules]."),
            do=("pick one wake time and keep it seven days a week", "set the alarm for the same time on weekends",
                "let bedtime follow a fixed wake time"),
            did=("kept the same 7 am alarm seven days a week", "fixed the wake time and let bedtime find its own "
                 "level", "set the weekend alarm to the weekday time"),
            gain=("started falling asleep {mins} minutes sooner", "stopped waking before the alarm",
                  "felt alert {mins} minutes earlier in the morning"),
            take=("Bedtime is overrated. Wake time is the one that counts.",
                  "A strict bedtime with a loose wake time is the wrong way round.",
                  "Regular beats long: six steady nights do more than two long lie-ins."),
            myth="going to bed at the same time is the key to good sleep",
            ask=("Do you wake up at the same time on Saturday as on Tuesday?",
                 "Which would be harder for you: a fixed bedtime or a fixed wake time?",
                 "How much does your wake time move during the week?"),
        ),
        Lever(
            topic="dinner eating late insomnia",
            names=("a late dinner", "eating close to bedtime", "the midnight snack"),
            facts=("Eating a large meal within two hours of bed raises your core temperature just when it should "
                   "be falling.",
                   "In my own log of 60 nights, the biggest predictor of a bad night was how late I ate dinner.",
                   "Late eaters in one trial [burned fewer calories the next day|felt hungrier the next day] than "
                   "people who ate the same food four hours earlier."),
            why=("Digestion keeps your body busy and warm, which delays the drop in temperature that starts sleep.",
                 "Lying down on a full stomach makes reflux more likely, and reflux wakes you up.",
                 "The gut runs on its own clock, [so a meal at midnight lands when it expects to rest|which is why "
                 "night-time food sits heavy]."),
            do=("finish dinner three hours before bed", "make lunch the bigger meal of the day",
                "keep the late snack small and light"),
            did=("moved dinner to three hours before bed", "made lunch the bigger meal",
                 "swapped the late snack for a small bowl of yoghurt"),
            gain=("woke up {few} fewer times a night", "fell asleep {mins} minutes sooner",
                  "stopped waking with heartburn"),
            take=("What you eat matters less for sleep than when you eat it.",
                  "A 10 pm dinner is a sleep decision, not just a food one."),
            myth="a heavy meal makes you sleep better",
            ask=("How late do you usually eat dinner?", "Do you sleep worse after a late meal?",
                 "What is your usual late-night snack?"),
        ),
        Lever(
            topic="exercise training circadian rhythm",
            names=("evening exercise", "a daily workout", "training and sleep"),
            facts=("People who exercise regularly fall asleep faster and get more deep sleep, in study after study.",
                   "A hard workout within an hour of bed can raise your heart rate for a good part of the night.",
                   "Moderate evening exercise that ends [90 minutes|more than an hour] before bed did not harm sleep "
                   "in a review of 23 studies."),
            why=("Exercise builds sleep pressure and warms you up, so the later cool-down helps you drift off.",
                 "Intense training late at night releases adrenaline, which keeps your heart rate up for hours.",
                 "Muscles repair mostly in deep sleep, [which is why training and sleep feed each other|so a hard "
                 "week of training needs longer nights]."),
            do=("move hard workouts to the morning or early evening", "keep late sessions easy: a walk or yoga",
                "finish intense training three hours before bed"),
            did=("moved the hard workouts to early evening", "swapped the late gym session for a walk",
                 "finished intense training three hours before bed"),
            gain=("got {pct}% more deep sleep on the tracker", "fell asleep {mins} minutes faster",
                  "cut the resting heart rate at night by {few} beats"),
            take=("Exercise at night is not the sleep killer people think it is. Intensity is.",
                  "The best sleep supplement is a brisk walk at 5 pm."),
            myth="any exercise in the evening ruins your sleep",
            ask=("What time of day do you train?", "Do you sleep better on days you exercise?",
                 "How late is too late for a workout, for you?"),
        ),
        Lever(
            topic="melatonin supplements circadian rhythm jet lag",
            names=("melatonin", "melatonin supplements", "the melatonin dose"),
            facts=("Melatonin is a timing signal, not a sedative: a small dose hours before bed shifts your clock "
                   "more than a big dose at bedtime.",
                   "Doses as low as 0.5 mg shift the body clock, yet many shops sell 5 or 10 mg tablets.",
                   "Tests of shop-bought melatonin found [doses from a fraction to several times|doses far off] what "
                   "the label said."),
            why=("Your body makes melatonin when it gets dark to say night has started, so the timing of a dose "
                 "matters more than its size.",
                 "A big dose at bedtime can leave melatonin high into the morning, which is why some people wake "
                 "up groggy.",
                 "Melatonin opens the sleep gate a little earlier; [it does not push you through it|it won't knock "
                 "you out like a sedative]."),
            do=("ask a doctor about a small dose taken a few hours before bed", "use darkness first, melatonin "
                "second", "try dim evenings before any supplement"),
            did=("swapped the 10 mg tablet for dim evenings and a fixed wake time",
                 "used morning light instead of melatonin after a long flight",
                 "dropped to a small dose taken at 7 pm, on a doctor's advice"),
            gain=("fell asleep {mins} minutes sooner", "got over jet lag {few} days faster",
                  "stopped waking up groggy"),
            take=("Melatonin is not a sleep aid. It is a clock signal, and most people take it at the wrong time.",
                  "A 10 mg melatonin tablet is a dose nobody's body makes."),
            myth="more melatonin means better sleep",
            ask=("Have you ever taken melatonin, and did it help?", "What dose of melatonin does your shop sell?",
                 "When do you take melatonin: at bedtime or hours before?"),
        ),
        Lever(
            topic="cortisol stress insomnia",
            names=("cortisol", "a racing mind at bedtime", "the worry list"),
            facts=("Cortisol peaks in the first 30 to 45 minutes after waking and should be low by bedtime.",
                   "Writing a to-do list for tomorrow before bed helped people fall asleep faster in one study, by "
                   "around nine minutes.",
                   "Slow breathing at about six breaths a minute [lowers heart rate within minutes|calms the nervous "
                   "system quickly] in lab tests."),
            why=("Stress keeps cortisol high into the evening, which keeps your body in daytime mode.",
                 "Writing the worries down tells your brain they are stored somewhere, so it stops rehearsing them.",
                 "A long exhale slows the heart through the vagus nerve, [which is why breathing tricks work at "
                 "all|and a slower heart reads as safety to the brain]."),
            do=("write tomorrow's to-do list before bed", "stop checking work messages two hours before bed",
                "spend five minutes breathing out for twice as long as you breathe in"),
            did=("started writing tomorrow's to-do list at 9 pm", "turned off work notifications after 8 pm",
                 "kept a worry notebook by the bed", "did five minutes of slow breathing in bed"),
            gain=("fell asleep {mins} minutes faster", "stopped lying awake replaying the day",
                  "cut the nights with a racing mind by about {pct}%"),
            take=("Your bedtime routine starts with the last work email you read.",
                  "You can't relax your way to sleep by trying to relax."),
            myth="you need to relax in bed to fall asleep",
            ask=("What is the last thing you do before you turn off the light?",
                 "Do you check work messages in bed?",
                 "What keeps your mind busy at night?"),
        ),
        Lever(
            topic="chronotype night owl circadian rhythm",
            names=("being a night owl", "your chronotype", "early birds and night owls"),
            facts=("About one person in four is a clear evening type, and their clock runs later by genes, "
                   "not laziness.",
                   "Teenagers' body clocks shift up to two hours later during puberty.",
                   "Schools that moved start times [later by about an hour|to 8:30 or later] saw students sleep "
                   "[about 30 to 45 minutes|close to an hour] more."),
            why=("Your chronotype sets when melatonin rises, so forcing an early bedtime means lying awake.",
                 "Owls forced onto an early schedule build sleep debt every weekday, which is why they crash at "
                 "weekends.",
                 "The clock's timing is partly inherited, [so an owl's late evenings run in families|which is why "
                 "your parents may have been owls too]."),
            do=("use morning light to pull a late clock earlier", "plan hard thinking for your own peak hours",
                "move your schedule by 15 minutes a day, not all at once"),
            did=("moved bedtime earlier by 15 minutes a day", "used morning light every day to pull the clock "
                 "earlier", "moved the hardest work to late morning"),
            gain=("fell asleep {mins} minutes earlier", "stopped needing {few} alarms"),
            take=("Night owls are not lazy. They are on a different clock.",
                  "The 5 am club is great advice for the quarter of people already built for it."),
            myth="early risers are simply more disciplined",
            ask=("Are you a morning person or a night owl?",
                 "If you had no alarm for a month, when would you wake up?",
                 "When in the day do you do your best thinking?"),
        ),
        Lever(
            topic="sleep tracker wearable insomnia",
            names=("sleep trackers", "the sleep score", "your wearable"),
            facts=("Consumer trackers are decent at total sleep time but often misjudge deep and REM sleep by a wide "
                   "margin.",
                   "Sleep researchers have a name for anxiety caused by sleep scores: orthosomnia.",
                   "Against a lab sleep study, [most wrist trackers|common trackers] got sleep stages right [only "
                   "about half to two thirds of the time|far less often than total sleep]."),
            why=("A tracker guesses sleep stages from movement and heart rate, which is why it can mistake lying "
                 "still for deep sleep.",
                 "Chasing a perfect score makes people anxious in bed, and anxiety is what keeps them awake.",
                 "How rested you feel follows the last hours of the night, [which a nightly score weights no more "
                 "than the first|so a good score can come after a bad morning]."),
            do=("look at weekly trends, not last night's score", "judge your sleep by how you feel at 11 am",
                "take the tracker off if the score worries you"),
            did=("stopped checking the sleep score every morning", "took the tracker off for two weeks",
                 "only looked at weekly averages"),
            gain=("fell asleep {mins} minutes faster without the score to worry about", "felt {pct}% less anxious "
                  "about sleep on a simple scale", "stopped starting the day with a bad number"),
            take=("Your sleep score might be keeping you awake.",
                  "How you feel at 11 am is a better sleep metric than any app."),
            myth="a tracker tells you how well you slept",
            ask=("Do you check your sleep score every morning?", "Has a sleep tracker ever made you worry more?",
                 "Does your sleep score match how you feel?"),
        ),
        Lever(
            topic="coffee nap naps caffeine",
            names=("the coffee nap", "a nappuccino", "caffeine before a nap"),
            facts=("Caffeine takes about 20 minutes to [kick in|reach your brain], [which is exactly the length of a "
                   "good nap|the same length as a short nap].",
                   "In [a driving study|one simulator study], a coffee followed by a 15-minute nap cut drowsy mistakes "
                   "more than either the coffee or the nap alone."),
            why=("The nap clears some adenosine just as the caffeine arrives to block the rest, [so you wake up with "
                 "both working for you|which is why the two together beat either one].",
                 "Twenty minutes is short enough to stay out of deep sleep, [so the coffee wakes you from light "
                 "sleep|which is why you don't wake up groggy]."),
            do=("drink a small coffee, then nap for 15 to 20 minutes", "save the coffee nap for the early afternoon"),
            did=("tried a coffee nap after lunch instead of a second espresso", "started taking 15-minute coffee "
                 "naps before long drives"),
            gain=("felt alert for {few} hours afterwards", "cut the afternoon slump [by about {pct}%|almost "
                  "completely]"),
            take=("The coffee nap sounds like a joke, but the timing is sound.",
                  "Coffee or a nap is a false choice. Have both, in that order."),
            myth="coffee and naps cancel each other out",
            ask=("Have you ever tried a coffee nap?", "What do you do about the 3 pm slump?"),
        ),
        Lever(
            topic="caffeine tea energy drinks hidden caffeine",
            names=("hidden caffeine", "green tea at night", "the evening cola"),
            facts=("A can of cola has [about 35 mg|roughly 30 to 40 mg] of caffeine, and a strong cup of green tea "
                   "[around 30 to 50 mg|about as much].",
                   "Dark chocolate carries [around 20 mg|up to 25 mg] of caffeine in a [40 g|small] bar, enough to "
                   "matter for sensitive sleepers.",
                   "Some pre-workout drinks hold [200 to 300 mg|as much caffeine as three espressos], more than "
                   "most people drink in a morning."),
            why=("Caffeine adds up across the day, [so a late tea on top of three coffees still counts|which is why a "
                 "small dose late on can tip the balance].",
                 "Decaf still carries [a few milligrams a cup|a little caffeine], which only matters if you drink "
                 "it by the pot."),
            do=("check the label of anything you drink after 2 pm", "switch evening tea to a caffeine-free herbal "
                "one"),
            did=("switched the evening green tea to rooibos", "stopped the after-dinner cola",
                 "moved the pre-workout drink to mornings only"),
            gain=("fell asleep {mins} minutes sooner", "woke up {few} fewer times a night"),
            take=("Decaf is not the problem. The tea you think is harmless might be.",
                  "An evening pre-workout is a coffee at midnight with extra steps."),
            myth="only coffee counts as caffeine",
            ask=("Do you count tea and chocolate as caffeine?", "What is the last thing with caffeine you have each "
                 "day?"),
        ),
        Lever(
            topic="caffeine genes sensitivity",
            names=("caffeine sensitivity", "your caffeine genes"),
            facts=("A common variant of the CYP1A2 gene makes some people clear caffeine [two to three times|far] "
                   "more slowly than others.",
                   "Pregnancy and some contraceptive pills can [double|roughly double] the time it takes to clear "
                   "caffeine.",
                   "Smokers clear caffeine [about twice|much] as fast, [which is why quitting can make coffee hit "
                   "harder|so people who quit often need less coffee]."),
            why=("The liver clears caffeine at a rate set partly by your genes, [so the same latte can be gone by "
                 "dinner for one person and still working at midnight for another|which is why your friend's "
                 "evening espresso tells you nothing about yours].",
                 "Tolerance dulls the buzz but not the effect on deep sleep, [so feeling nothing is not the same as "
                 "being unaffected|which fools regular drinkers]."),
            do=("test your own curfew: no caffeine after noon for two weeks", "judge caffeine by your own nights, "
                "not by anyone else's"),
            did=("ran a two-week test with no caffeine after noon", "compared sleep on coffee and no-coffee "
                 "afternoons"),
            gain=("found a clear difference of about {mins} minutes in time to fall asleep", "discovered the "
                  "afternoon latte was costing {pct}% of their deep sleep"),
            take=("Your friend who sleeps after an espresso is not proof of anything about you.",
                  "Caffeine tolerance is real for the buzz and mostly a myth for your sleep."),
            myth="caffeine affects everyone the same way",
            ask=("Are you a fast or a slow caffeine person?", "Does coffee after dinner keep you up?"),
        ),
        Lever(
            topic="rem sleep dreams rebound",
            names=("REM rebound", "vivid dreams", "dream sleep"),
            facts=("After a few nights of short sleep, the brain [packs|crams] extra REM into the next long night, "
                   "which is why dreams get vivid.",
                   "You spend about two hours a night in REM, [mostly in long stretches near morning|most of it in "
                   "the last third of the night].",
                   "During REM your muscles are [almost fully|mostly] switched off, which is why you don't act out "
                   "your dreams."),
            why=("REM is when the brain [rehearses|replays] emotional memories and tests new connections, so losing "
                 "it shows up as [a short temper|irritability] the next day.",
                 "Noradrenaline, a stress chemical, [drops to almost nothing in REM|is nearly absent during REM], "
                 "which may be why dreams can soften hard memories."),
            do=("protect the last two hours of your night", "skip the early alarm on the day after a short night"),
            did=("stopped setting a 5 am alarm on gym days", "protected the last two hours of sleep on weekdays"),
            gain=("felt [less irritable|calmer] within {span}", "remembered dreams again after years"),
            take=("Vivid dreams after a bad week are your brain catching up, not a sign of bad sleep.",
                  "The early alarm costs you dreams first, and dreams are doing real work."),
            myth="dreams are just noise",
            ask=("Do your dreams get more vivid after a short week?", "Do you remember your dreams most mornings?"),
        ),
        Lever(
            topic="light exposure dark bedroom blackout",
            names=("a dark bedroom", "blackout curtains", "the street light outside"),
            facts=("Sleeping with a [dim light|lamp] on raised next-morning insulin resistance and heart rate in "
                   "[a 2022 study|a recent lab study].",
                   "Your eyelids let through [around 5 to 10%|a small share] of the light in the room, enough for a "
                   "bright street light to reach your clock.",
                   "People who sleep with a TV or light on [gained more weight over five years|were more likely to "
                   "gain weight] in a large study of women."),
            why=("Light at night reaches the clock through closed eyelids, [which keeps melatonin lower than it "
                 "should be|so the body never fully switches to night mode].",
                 "Even dim light keeps the heart in a more alert state, [which is why the effects show up the next "
                 "morning|so the cost shows up in the morning, not in the night]."),
            do=("block the street light with blackout curtains or a sleep mask", "cover the standby lights in the "
                "bedroom"),
            did=("put up blackout curtains", "started wearing a sleep mask", "taped over the router's blinking "
                 "lights"),
            gain=("woke up {few} fewer times before dawn", "slept {mins} minutes longer on summer mornings"),
            take=("Most bedrooms are far from dark, and most people never notice.",
                  "A sleep mask is the cheapest upgrade in sleep, and almost nobody uses one."),
            myth="you can't sleep badly with your eyes closed",
            ask=("How dark is your bedroom at 3 am?", "Do you sleep with any light on?"),
        ),
        Lever(
            topic="noise bedroom insomnia",
            names=("night-time noise", "white noise", "earplugs"),
            facts=("Traffic noise above about 40 decibels can raise your heart rate [without waking you|even when "
                   "you sleep through it].",
                   "Steady background sound, [like a fan|such as pink noise], makes sudden noises stand out less.",
                   "People living near airports show [higher night-time blood pressure|more night-time heart-rate "
                   "spikes] on nights with more flights."),
            why=("The brain keeps listening during sleep, [so each sudden sound can pull you into lighter sleep|"
                 "which is why a door slamming can cost you deep sleep you never remember losing].",
                 "It is the change in sound that wakes you, not the level, [which is why a steady fan helps|so a "
                 "constant hum masks the spikes]."),
            do=("try foam earplugs", "run a fan or pink noise at a low volume"),
            did=("started sleeping with foam earplugs", "put a quiet fan in the bedroom", "moved the bed away from "
                 "the street-side wall"),
            gain=("woke up {few} fewer times a night", "got {pct}% more deep sleep on the tracker"),
            take=("You are not a light sleeper. Your bedroom is a loud one.",
                  "You never get used to noise. You just stop noticing what it costs."),
            myth="you get used to noise after a few nights",
            ask=("Do you sleep with earplugs?", "What is the loudest thing you hear at night?"),
        ),
        Lever(
            topic="sleep and memory learning before",
            names=("sleep before learning", "a rested brain", "the night before a training day"),
            facts=("[Sleep-deprived|Short-slept] people form new memories about 40% less well, because the "
                   "hippocampus [struggles to take in|stops taking in] new information.",
                   "A [90-minute|one-hour] nap in the early afternoon [restored|refreshed] the ability to learn new "
                   "facts in a [Berkeley|lab] study."),
            why=("The hippocampus [works like|acts as] a short-term inbox, and sleep clears it for the next day's "
                 "learning.",
                 "A tired brain misses more of what it sees, [so the learning fails before memory is even "
                 "involved|which means the notes never get written in the first place]."),
            do=("sleep a full night before a training day, not just after", "put hard learning after a nap, not "
                "before"),
            did=("started sleeping a full night before training days", "scheduled the hardest study after an "
                 "afternoon nap"),
            gain=("picked up new material about {pct}% faster", "needed {few} fewer rounds to learn each topic"),
            take=("Sleep after learning gets the credit, but sleep before learning matters just as much.",
                  "A short night before a course wastes the course."),
            myth="you only need sleep after studying",
            ask=("Do you sleep well the night before you learn something new?", "When in the day do you learn "
                 "best?"),
        ),
        Lever(
            topic="shift work night shift circadian rhythm",
            names=("night shifts", "shift work", "the drive home after a night shift"),
            facts=("Night-shift workers sleep [one to four hours less|on average a few hours less] than day workers "
                   "[across studies|in most studies].",
                   "The body clock rarely flips fully to nights, [even after years of shift work|so most night "
                   "workers sleep against their clock].",
                   "The risk of a car crash on the drive home rises sharply after a night shift, [in driving "
                   "studies|in simulator tests]."),
            why=("Morning light on the way home tells the clock it is daytime, [which is why day sleep after a "
                 "night shift is so short|just when you need to sleep].",
                 "Day sleep falls in the clock's wake zone, [so it is lighter and shorter even in a dark room|which "
                 "is why it rarely feels like real sleep]."),
            do=("wear sunglasses on the drive home after a night shift", "keep the bedroom fully dark for day "
                "sleep"),
            did=("started wearing dark glasses on the way home from nights", "fitted blackout blinds for day sleep"),
            gain=("slept {mins} minutes longer after night shifts", "stopped nodding off on the drive home"),
            take=("Nobody adapts to night shifts. The best you can do is cheat the light.",
                  "Sunglasses belong in every night worker's kit, next to the badge."),
            myth="you get used to night shifts",
            ask=("Have you ever worked night shifts?", "How do you sleep after a night shift?"),
        ),
        Lever(
            topic="jet lag travel circadian rhythm",
            names=("jet lag", "flying east", "the first night in a new time zone"),
            facts=("The body clock shifts about one hour a day, so a [six-hour|seven-hour] trip east can take most "
                   "of a week to settle.",
                   "Flying east is harder than flying west, because your clock [finds it easier to run late|would "
                   "rather stretch than shrink].",
                   "Teams in [American|North American] sports lose [slightly more often|more often] after flying "
                   "east across time zones, in studies of thousands of games."),
            why=("Light at the right local time pulls the clock into place, [so the first morning outside does more "
                 "than any tablet|which is why timing daylight beats fighting the tiredness].",
                 "Light at the wrong time pushes the clock the wrong way, [which is why a bright evening can make "
                 "eastward jet lag worse|so timing beats brightness]."),
            do=("get outside in the morning light of your destination", "shift bedtime by an hour a day before a "
                "trip east"),
            did=("shifted bedtime an hour a day before flying east", "took a long morning walk on the first day "
                 "abroad"),
            gain=("got over jet lag {few} days faster", "slept through the first night abroad"),
            take=("Fighting jet lag with coffee is the slow way. Light is the fast one.",
                  "Jet lag is a light problem you are treating as a tiredness problem."),
            myth="jet lag is just tiredness",
            ask=("Which is harder for you: flying east or flying west?", "How long does jet lag last for you?"),
        ),
        Lever(
            topic="sleep debt appetite weight",
            names=("short sleep and hunger", "late-night cravings"),
            facts=("After [four|five] nights of short sleep, people ate [about 300|roughly 350] more calories a day "
                   "in lab studies.",
                   "Short sleep raises ghrelin, the hunger hormone, and lowers leptin, [the one that tells you you "
                   "are full|the fullness signal].",
                   "Dieters who slept 5.5 hours lost [about half as much fat as|far less fat than] those on the same "
                   "diet who slept 8.5."),
            why=("A tired brain rates [sweet and salty food|snacks] as more rewarding, [which is why the cravings "
                 "come at night|so willpower has little to do with it].",
                 "The longer you are awake, the more hours there are to eat, [and most of them fall in the evening|"
                 "which is simple arithmetic before it is biology]."),
            do=("fix sleep before you fix the diet", "go to bed instead of to the fridge"),
            did=("moved bedtime 45 minutes earlier", "put sleep first for a month before changing diet"),
            gain=("stopped snacking after 10 pm", "ate about {pct}% fewer late snacks"),
            take=("Your diet might be a sleep problem in disguise.",
                  "Late-night snacking is a bedtime problem, not a willpower problem."),
            myth="late-night snacking is about willpower",
            ask=("Do you get more cravings after a short night?", "What do you reach for when you are tired?"),
        ),
    ),
)
