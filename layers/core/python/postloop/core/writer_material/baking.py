"""Home baking: sourdough, bread, pastry, cookies — hydration, starters, proofing, ovens."""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="baking",
    match=frozenset("""baking bake baker bread sourdough pastry cookies cookie cake cakes dough loaf loaves flour
    oven starter""".split()),
    subject="your bread",
    goals=("get a more open crumb", "bake better sourdough", "stop making flat loaves", "get a crisp crust",
           "bake cookies that don't spread", "bake with less guesswork"),
    people=("a reader", "my neighbour", "a student in my weekend class", "my brother", "a friend who bakes for "
            "her café", "a home baker who wrote to me", "my aunt", "a beginner in my workshop", "a colleague"),
    log=("every bake", "my starter's rise", "dough temperatures and times"),
    signoffs=("Happy baking.", "Trust the dough, not the clock.", "Bake, taste, adjust.",
              "Your oven is part of the recipe."),
    vague=("Baking is an art.", "Homemade bread is the best.", "Baking takes patience.",
           "Everyone should bake more.", "There's nothing like fresh bread."),
    tags=("#sourdough", "#baking", "#breadmaking", "#homebaking", "#bread"),
    levers=(
        Lever(
            topic="sourdough hydration dough",
            names=("dough hydration", "wet dough", "hydration"),
            facts=("A dough at 75% hydration holds [750 g|three quarters of its flour's weight] of water per "
                   "kilo of flour, and gives a more open crumb than one at 65%.",
                   "Whole-wheat flour absorbs [about 5 to 10%|several percent] more water than white flour."),
            why=("More water lets gas cells stretch before the crust sets, [which is where an open crumb comes "
                 "from|so the bubbles get bigger].",),
            do=("raise hydration by 5% at a time", "hold back 10% of the water and add it after mixing"),
            did=("raised hydration from 68% to 75%", "held back some water and added it after the rest"),
            gain=("got a visibly more open crumb", "stopped getting tight, dense loaves"),
            take=("High hydration is not a skill badge. It is a choice with trade-offs.",),
            myth="wetter dough is always better dough",
            ask=("What hydration do you bake your everyday loaf at?", "Do you adjust water for whole-wheat "
                 "flour?"),
        ),
        Lever(
            topic="sourdough starter",
            names=("your starter", "starter feeding", "a sluggish starter"),
            facts=("A healthy starter doubles in about [4 to 8 hours|six hours] at 24°C after feeding.",
                   "A starter kept at 28°C peaks [roughly twice as fast|much faster] as one at 20°C."),
            why=("Yeast and bacteria in the starter speed up with warmth, [so temperature sets the schedule more "
                 "than the recipe does|which is why winter starters seem lazy].",),
            do=("feed the starter at the same time each day", "keep the starter somewhere warm, around 25°C"),
            did=("moved the starter next to the oven light", "fed the starter at the same time every day"),
            gain=("got it doubling in {few} hours again", "baked {few} good loaves in a row"),
            take=("Your starter is not dead. It is cold.",),
            myth="a starter needs exotic flour to thrive",
            ask=("How long does your starter take to double?", "Where do you keep your starter in winter?"),
        ),
        Lever(
            topic="bread proof proofing bulk fermentation",
            names=("bulk fermentation", "proofing", "the poke test"),
            facts=("Bulk fermentation at 24°C often takes [4 to 6 hours|about five hours], and nearly twice as "
                   "long at 20°C.",
                   "A dough that has risen [about 50%|by half] in bulk is a common sign it is ready to shape."),
            why=("Under-proofed dough has not made enough gas, [so it bursts in the oven and stays dense|which "
                 "gives a tight crumb with a few huge holes].",),
            do=("judge bulk by volume and feel, not the clock", "use a straight-sided container to see the "
                "rise"),
            did=("switched to a straight-sided container for bulk", "started judging the dough by volume"),
            gain=("stopped getting dense, gummy loaves", "got an even crumb in {few} bakes"),
            take=("Recipes give times. Dough gives signs. Follow the dough.",),
            myth="the recipe's timing is the rule",
            ask=("How do you tell when bulk fermentation is done?", "Do you use the poke test?"),
        ),
        Lever(
            topic="oven baking steam crust",
            names=("steam in the oven", "the Dutch oven", "oven spring"),
            facts=("Baking with the lid on for the first 20 minutes traps steam and [helps the loaf rise|gives "
                   "more oven spring].",
                   "Many home ovens run [10 to 20°C|several degrees] off the dial, in either direction."),
            why=("Steam keeps the crust soft while the loaf expands, [which is why the lid matters more than the "
                 "recipe|so the bread can rise before the crust sets].",),
            do=("bake the first 20 minutes with the lid on", "check your oven with a cheap thermometer"),
            did=("started baking in a preheated Dutch oven", "checked the oven with a thermometer and found it "
                 "ran cold"),
            gain=("got a taller loaf with a proper ear", "stopped getting pale crusts"),
            take=("Your oven thermometer is the cheapest baking upgrade there is.",),
            myth="the dial on the oven is accurate",
            ask=("Have you ever checked your oven's real temperature?", "Lid on or lid off for the first 20 "
                 "minutes?"),
        ),
        Lever(
            topic="flour gluten protein bread",
            names=("bread flour", "protein content", "gluten"),
            facts=("Bread flour has about [12 to 14%|13%] protein against [9 to 11%|about 10%] for plain flour.",
                   "A [20 to 30|30] minute rest after mixing flour and water lets gluten form with no kneading."),
            why=("More protein builds more gluten, [which traps more gas|so the dough holds its shape].",),
            do=("use bread flour for free-form loaves", "rest flour and water for 30 minutes before adding salt"),
            did=("switched to a higher-protein bread flour", "added a 30-minute rest before mixing in the salt"),
            gain=("got loaves that held their shape", "cut kneading time by {pct}%"),
            take=("Kneading is overrated. Time does most of the work.",),
            myth="good bread needs long kneading",
            ask=("What flour do you use for your loaves?", "Do you knead or fold?"),
        ),
        Lever(
            topic="cookies butter sugar",
            names=("chilling cookie dough", "butter temperature", "brown butter"),
            facts=("Chilling cookie dough for [24 hours|a day] gives thicker cookies and a deeper flavour.",
                   "Butter that is too warm makes cookies spread [much wider|flat] in the oven."),
            why=("Cold fat melts later in the oven, [so the cookie sets before it spreads|which keeps the edges "
                 "thick].",),
            do=("chill the dough overnight", "use butter at about 18°C, cool but soft"),
            did=("started chilling the dough overnight", "measured the butter temperature before creaming"),
            gain=("stopped getting flat cookies", "got chewier middles in {few} batches"),
            take=("The best cookie recipe step is the one where you do nothing for a day.",),
            myth="cookie dough should go straight into the oven",
            ask=("Do you chill your cookie dough?", "Crispy or chewy?"),
        ),
        Lever(
            topic="pastry butter lamination",
            names=("laminated dough", "cold butter", "croissant layers"),
            facts=("Croissant dough usually gets [three|three or four] folds, giving [dozens|81 or more] of "
                   "butter layers.",
                   "Butter for lamination works best at about [13 to 16°C|15°C], pliable but not soft."),
            why=("Each butter layer turns to steam in the oven, [which pushes the dough layers apart|so cold "
                 "butter means visible layers].",),
            do=("chill the dough for 30 minutes between folds", "check the butter's temperature before each "
                "fold"),
            did=("added 30-minute rests between folds", "started checking the butter with a thermometer"),
            gain=("got clear layers for the first time", "stopped the butter from leaking in the oven"),
            take=("Lamination is a temperature problem, not a technique problem.",),
            myth="croissants need professional skills",
            ask=("Have you ever made croissants at home?", "What went wrong on your first laminated dough?"),
        ),
        Lever(
            topic="bread weighing scale recipes",
            names=("a kitchen scale", "baker's percentages", "weighing flour"),
            facts=("A cup of flour can weigh anywhere from [120 to 150 g|120 g to 150 g] depending on how it is "
                   "scooped.",
                   "Baker's percentages express every ingredient as a share of the flour, [so a recipe scales with "
                   "one multiplication|which makes any recipe easy to scale]."),
            why=("A 20% swing in flour changes hydration completely, [which is why cup recipes give different "
                 "bread every time|so weighing is consistency].",),
            do=("weigh flour and water instead of using cups", "write recipes as baker's percentages"),
            did=("switched from cups to a kitchen scale", "rewrote favourite recipes in baker's percentages"),
            gain=("got the same loaf {few} times in a row", "stopped guessing at water"),
            take=("A scale improves more home bread than any recipe.",),
            myth="experienced bakers don't need to weigh",
            ask=("Do you bake by weight or by cups?", "Do you use baker's percentages?"),
        ),
        Lever(
            topic="bread salt fermentation",
            names=("salt in bread", "the salt percentage"),
            facts=("Most bread recipes use about 2% salt by flour weight, [20 g per kilo|20 grams for every "
                   "kilogram] of flour.",
                   "Salt slows yeast, [so a dough without it rises fast and tastes flat|which is why salt-free "
                   "dough overproofs easily]."),
            why=("Salt tightens gluten as well as seasoning, [so the dough holds its shape better|which is why "
                 "adding it late changes how the dough feels].",),
            do=("weigh the salt at 2% of the flour", "add the salt after a 30-minute rest"),
            did=("started weighing salt at 2% of the flour", "added the salt after the autolyse"),
            gain=("got a better-shaped loaf", "stopped over-proofing in warm weather"),
            take=("Bland bread is usually under-salted bread.",),
            myth="salt is only there for flavour",
            ask=("How much salt goes in your bread?", "When do you add the salt?"),
        ),
        Lever(
            topic="bread shaping tension",
            names=("shaping", "surface tension", "the pre-shape"),
            facts=("A pre-shape and a [20 to 30|20-minute] bench rest make the final shape [far easier|much "
                   "easier].",
                   "A tight outer skin is what lets a loaf rise up instead of spreading out."),
            why=("The bench rest relaxes the gluten, [so the final shape can be tight without tearing|which is "
                 "why skipping it gives flat loaves].",),
            do=("pre-shape, rest 20 minutes, then shape", "drag the dough towards you on an unfloured bench"),
            did=("added a pre-shape and a 20-minute rest", "started shaping on an unfloured bench"),
            gain=("got taller loaves", "stopped the loaf spreading in the oven"),
            take=("Most flat loaves were lost at shaping, not in the oven.",),
            myth="flat loaves mean weak flour",
            ask=("Do you pre-shape your dough?", "What is the hardest part of shaping for you?"),
        ),
        Lever(
            topic="bread cold retard fridge",
            names=("a cold retard", "proofing in the fridge", "the overnight proof"),
            facts=("An overnight proof in the fridge at [4 to 5°C|about 4°C] slows the dough enough to bake it "
                   "the next morning.",
                   "A cold dough is [much easier|far easier] to score cleanly than a warm one."),
            why=("Cold slows yeast more than the bacteria, [so the bread gets more flavour while the rise waits|"
                 "which is why overnight loaves taste more sour].",),
            do=("proof the shaped loaf overnight in the fridge", "bake straight from the fridge"),
            did=("moved the final proof to the fridge overnight", "started baking straight from the fridge"),
            gain=("fit baking around a working day", "got cleaner scoring and a better ear"),
            take=("The fridge is the most useful tool a home baker owns.",),
            myth="bread has to be baked the same day it is mixed",
            ask=("Do you proof your loaves in the fridge?", "How long is your longest cold proof?"),
        ),
    ),
)
