"""Vegetable gardening: tomatoes, compost, raised beds, seed starting, watering, mulch."""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="garden",
    match=frozenset("""garden gardening gardener vegetable vegetables veg tomatoes tomato compost soil seeds seed
    seedlings allotment plants plant growing grow""".split()),
    subject="your garden",
    goals=("grow more tomatoes", "water less", "get seeds to germinate", "build better soil", "beat the weeds",
           "harvest more from a small plot"),
    people=("a reader", "my neighbour on the allotment", "my dad", "a friend with a balcony garden",
            "a beginner in our community garden", "my aunt", "a school garden I help with", "a colleague",
            "an old gardener on our street"),
    log=("every harvest", "when I watered and how much", "soil temperature each morning"),
    signoffs=("Happy growing.", "Feed the soil, not the plant.", "Go and look at your plants today.",
              "There's always next season."),
    vague=("Gardening is good for the soul.", "Growing your own is the best.", "Plants are amazing.",
           "Everyone should garden.", "Gardening takes patience."),
    tags=("#gardening", "#growyourown", "#vegetablegarden", "#allotment", "#compost"),
    levers=(
        Lever(
            topic="tomatoes watering",
            names=("watering tomatoes", "deep watering", "blossom end rot"),
            facts=("Tomatoes need about [2.5 cm|an inch] of water a week, more in hot spells.",
                   "Blossom end rot comes from [uneven watering|irregular watering] more often than from a lack "
                   "of calcium in the soil."),
            why=("Deep, less frequent watering sends roots down, [so the plant copes with dry spells|which is why "
                 "a daily sprinkle does more harm than good].",),
            do=("water deeply twice a week instead of a little every day", "water at the base, in the morning"),
            did=("switched to deep watering twice a week", "started watering at the base in the morning"),
            gain=("harvested about {kg} kg more tomatoes", "stopped losing fruit to blossom end rot"),
            take=("Most tomato problems are watering problems wearing a disguise.",),
            myth="watering every day is the best way to grow tomatoes",
            ask=("How often do you water your tomatoes?", "Have you ever had blossom end rot?"),
        ),
        Lever(
            topic="compost soil",
            names=("compost", "a compost heap", "greens and browns"),
            facts=("A good compost mix is roughly [two to three parts brown to one part green|2 to 3 browns for "
                   "every green] by volume.",
                   "A hot heap can reach [55 to 65°C|over 55°C], enough to kill most weed seeds."),
            why=("Browns bring carbon and air, greens bring nitrogen, [so the balance decides whether the heap "
                 "smells or works|which is why a slimy heap needs cardboard].",),
            do=("add a bucket of shredded cardboard for every bucket of kitchen scraps", "turn the heap every "
                "couple of weeks"),
            did=("started adding shredded cardboard with every bucket of scraps", "turned the heap every two "
                 "weeks"),
            gain=("had finished compost in {weeks} weeks", "stopped the heap from smelling"),
            take=("A smelly compost heap is missing cardboard, not magic.",),
            myth="compost takes years to make",
            ask=("Hot or cold compost?", "What goes in your compost heap?"),
        ),
        Lever(
            topic="raised beds soil",
            names=("raised beds", "no-dig beds", "bed depth"),
            facts=("Raised beds warm up [a week or two|several days] earlier in spring than the ground around "
                   "them.",
                   "Most vegetables do well in a bed [20 to 30 cm|about 30 cm] deep over loosened soil."),
            why=("Soil you never walk on stays loose, [so roots and water move through it easily|which is the "
                 "real advantage of a bed].",),
            do=("make beds narrow enough to reach the middle without stepping in", "top beds with 5 cm of "
                "compost each year"),
            did=("built beds 1.2 m wide so nobody steps in them", "topped the beds with compost every autumn"),
            gain=("planted out {few} weeks earlier", "harvested {pct}% more from the same space"),
            take=("The best thing about a raised bed is that nobody stands on it.",),
            myth="raised beds need to be deep to work",
            ask=("How deep are your raised beds?", "Do you dig your beds or leave them?"),
        ),
        Lever(
            topic="seed starting germination",
            names=("seed starting", "germination temperature", "leggy seedlings"),
            facts=("Tomato and pepper seeds germinate best at [24 to 30°C|around 25°C], far warmer than most "
                   "windowsills at night.",
                   "Seedlings grow leggy when light is [too weak|too dim], not because of too much water."),
            why=("Weak light makes seedlings stretch towards it, [which is why a cheap grow light beats a bright "
                 "window|so height is a sign of hunger for light].",),
            do=("start seeds on a heat mat", "hang a grow light 10 cm above seedlings"),
            did=("started seeds on a heat mat", "put the seedlings under a cheap grow light"),
            gain=("got seeds up in {few} days instead of two weeks", "raised stocky seedlings for the first time"),
            take=("Your windowsill is not bright enough for seedlings. Almost nobody's is.",),
            myth="a sunny windowsill is enough for seedlings",
            ask=("Where do you start your seeds?", "Do your seedlings get leggy?"),
        ),
        Lever(
            topic="mulch watering weeds",
            names=("mulch", "a straw mulch", "bare soil"),
            facts=("A [5 to 8 cm|5 cm] layer of mulch can cut evaporation from the soil by [a third or more|a "
                   "large share].",
                   "Bare soil in summer can run [10°C|several degrees] hotter at the surface than mulched soil."),
            why=("Mulch shades the soil, [which keeps moisture in and weed seeds in the dark|so less water "
                 "escapes and fewer weeds sprout].",),
            do=("mulch every bed after the soil warms up", "use straw or leaf mould around vegetables"),
            did=("mulched every bed with straw in June", "used leaf mould as mulch around the beans"),
            gain=("watered {pct}% less over the summer", "spent {hours} fewer hours a month weeding"),
            take=("Bare soil is a garden asking for weeds.",),
            myth="mulch attracts pests and should be avoided",
            ask=("Do you mulch your vegetable beds?", "What do you use as mulch?"),
        ),
        Lever(
            topic="tomatoes pruning",
            names=("pruning tomatoes", "side shoots", "cordon tomatoes"),
            facts=("Removing side shoots on cordon tomatoes [puts more energy into fruit|channels growth into "
                   "fewer, bigger trusses].",
                   "Bush tomatoes [need no pruning at all|should not be pruned], unlike cordon varieties."),
            why=("Each side shoot becomes a new stem, [so an unpruned cordon turns into a jungle with small "
                 "fruit|which is why pruning is about airflow as much as yield].",),
            do=("pinch out side shoots weekly on cordon tomatoes", "stop the plant after five or six trusses "
                "outdoors"),
            did=("pinched out side shoots every week", "stopped the plants after six trusses"),
            gain=("got fruit ripening {few} weeks earlier", "stopped losing plants to blight in the damp"),
            take=("Half of tomato advice is for a different kind of tomato.",),
            myth="every tomato plant needs pruning",
            ask=("Cordon or bush tomatoes?", "Do you pinch out side shoots?"),
        ),
        Lever(
            topic="seed starting frost planting",
            names=("the last frost", "hardening off", "planting out"),
            facts=("Seedlings moved straight outdoors can [scorch or stall|lose a week or more] without a week "
                   "of hardening off.",
                   "Tender crops like squash and beans [die at|are killed by] the first frost."),
            why=("Hardening off thickens leaves and slows growth, [so the plant copes with wind and sun|which is "
                 "why a week outside in a sheltered spot pays].",),
            do=("harden seedlings off for a week before planting out", "check your local last frost date"),
            did=("hardened seedlings off for a full week", "waited two weeks past the last frost date"),
            gain=("lost no seedlings at planting out", "got a harvest {few} weeks earlier"),
            take=("Planting out early rarely gets you an early harvest.",),
            myth="the earlier you plant out, the earlier you harvest",
            ask=("When do you plant out your tomatoes?", "Do you harden off your seedlings?"),
        ),
        Lever(
            topic="soil compost earthworms",
            names=("soil life", "earthworms", "no-dig soil"),
            facts=("A handful of healthy soil holds [billions of|more than a billion] microbes.",
                   "Earthworm tunnels [let water soak in|help rain reach the roots] instead of running off."),
            why=("Digging breaks up fungal threads and worm tunnels, [so no-dig beds often drain and hold water "
                 "better|which is why leaving soil alone can improve it].",),
            do=("add compost on top instead of digging it in", "keep soil covered with plants or mulch all "
                "year"),
            did=("stopped digging and spread compost on top", "kept the beds covered through winter"),
            gain=("saw {pct}% fewer weeds in spring", "spent {hours} fewer hours a month digging"),
            take=("Most beds are dug because they always have been, not because they need it.",),
            myth="soil must be dug every year",
            ask=("Do you dig your beds every year?", "How many worms do you find in a spadeful?"),
        ),
        Lever(
            topic="watering drip irrigation",
            names=("drip irrigation", "watering in the morning", "the hose"),
            facts=("Drip lines put water at the roots and can use [30 to 50%|far] less than a sprinkler.",
                   "Watering in the evening keeps leaves wet overnight, [which invites fungal disease|a gift to "
                   "mildew]."),
            why=("Water on leaves mostly evaporates or feeds disease, [so the roots are the only target|which is "
                 "why a watering can at the base beats a spray].",),
            do=("water at the base in the morning", "lay a drip line under the mulch"),
            did=("laid a drip line under the mulch", "moved watering to early morning"),
            gain=("cut water use by {pct}%", "stopped losing courgettes to mildew"),
            take=("The sprinkler is the worst way to water a vegetable bed.",),
            myth="evening is the best time to water",
            ask=("When do you water your garden?", "Do you use drip irrigation?"),
        ),
        Lever(
            topic="seed starting succession sowing",
            names=("succession sowing", "sowing little and often", "a steady harvest"),
            facts=("Sowing salad every [two to three weeks|fortnight] gives a steady harvest instead of one "
                   "glut.",
                   "Radishes can go from seed to harvest in about [four weeks|a month]."),
            why=("Each sowing matures at a different time, [so the harvest is spread out|which is why small "
                 "sowings beat one big one].",),
            do=("sow a short row of salad every two weeks", "keep a sowing calendar on the shed door"),
            did=("sowed a short row of lettuce every two weeks", "kept a sowing calendar on the shed door"),
            gain=("picked salad for {weeks} weeks straight", "stopped throwing away bolted lettuce"),
            take=("Sowing all your seeds on one weekend is how you get a glut and then nothing.",),
            myth="you should sow everything at once in spring",
            ask=("How often do you sow salad?", "Do you plan your sowings?"),
        ),
    ),
)
