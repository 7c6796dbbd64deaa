"""Street photography: light, composition, gear, focal lengths, settings, editing."""
from postloop.core.writer_material import Lever, Pack

PACK = Pack(
    key="photo",
    match=frozenset("""photography photo photos photographer street camera cameras lens lenses composition
    portrait portraits film shooting""".split()),
    subject="your photos",
    goals=("take better street photos", "get closer to your subjects", "shoot more keepers", "use light "
           "better", "stop worrying about gear", "find your style"),
    people=("a reader", "a student in my workshop", "a friend who shoots film", "my brother", "a photographer "
            "in our walk group", "a beginner I mentored", "a colleague", "an old friend from art school"),
    log=("every roll", "my keeper rate per walk", "the focal length of every keeper"),
    signoffs=("Go for a walk with your camera.", "Shoot more, think less.", "Look for the light.",
              "The best camera is the one you carry."),
    vague=("Photography is an art.", "Every photo tells a story.", "Keep shooting.", "Photography is about "
           "seeing.", "Light is everything."),
    tags=("#streetphotography", "#photography", "#35mm", "#filmphotography", "#composition"),
    levers=(
        Lever(
            topic="light golden hour",
            names=("golden hour", "side light", "hard midday light"),
            facts=("Golden hour light comes in [low|at a low angle] and warm, [in the hour after sunrise and "
                   "before sunset|just after sunrise and before sunset].",
                   "Midday sun gives [hard shadows under eyes|deep eye shadows] that most portraits struggle "
                   "with."),
            why=("Low light rakes across surfaces and shows texture, [which is why streets look richer at "
                 "7 pm|so the same corner looks better in the evening].",),
            do=("shoot the same street at golden hour and at noon", "look for shade with bright light just "
                "outside it"),
            did=("shot the same corner at noon and at sunset", "started walking in the last hour of light"),
            gain=("doubled the keeper rate per walk", "kept {few} frames from a walk instead of none"),
            take=("Light is the subject. The street is the background.",),
            myth="you need sunny weather for good photos",
            ask=("What time of day do you shoot?", "Do you chase light or subjects?"),
        ),
        Lever(
            topic="composition framing",
            names=("composition", "layers in a frame", "the rule of thirds"),
            facts=("A frame with a foreground, middle and background [reads deeper|feels more three-dimensional] "
                   "than one with a single subject.",
                   "The rule of thirds is a starting point; [many of the best street photos break it|great "
                   "photos often centre the subject]."),
            why=("The eye moves through layers, [so a frame with three planes holds attention longer|which is "
                 "why depth keeps viewers looking].",),
            do=("look for a foreground element before you raise the camera", "wait for a subject to walk into "
                "a good background"),
            did=("started waiting for people to walk into good backgrounds", "looked for a foreground element "
                 "in every frame"),
            gain=("kept {pct}% more frames from each walk", "made {few} photos worth printing in a month"),
            take=("Most street photos fail before the subject arrives: the background was never chosen.",),
            myth="composition rules make better photos",
            ask=("Do you pick the background or the subject first?", "What do you look for in a frame?"),
        ),
        Lever(
            topic="gear lens focal length",
            names=("one prime lens", "a 35 mm lens", "gear upgrades"),
            facts=("[Many|Plenty] of the classic street photos were made with a 35 mm or 50 mm lens.",
                   "A single prime lens forces you to move, [which changes your pictures more than any zoom|so "
                   "your feet become the zoom]."),
            why=("Fewer choices mean faster decisions, [so you react to moments instead of settings|which is "
                 "why limits help].",),
            do=("shoot with one prime lens for a month", "tape over the zoom ring for a week"),
            did=("shot a whole month with a 35 mm prime", "left the zoom lens at home for a month"),
            gain=("got {few} times closer to subjects", "kept {pct}% more frames"),
            take=("Your next lens will not fix your photos. Your next walk might.",),
            myth="better gear makes better photos",
            ask=("What focal length do you shoot most?", "Prime or zoom?"),
        ),
        Lever(
            topic="street photography distance subjects",
            names=("getting closer", "shooting strangers", "zone focusing"),
            facts=("Zone focusing at f/8 with focus set to [3 m|about 3 metres] keeps most of a street scene "
                   "sharp without autofocus.",
                   "Most people [don't notice|never notice] a photographer who keeps walking after the shot."),
            why=("Being close puts the viewer in the scene, [which is why close frames feel alive|so distance "
                 "shows up as detachment].",),
            do=("set zone focus at 3 m and stop thinking about focus", "smile and nod if someone notices you"),
            did=("started zone focusing at f/8", "took one step closer before every shot"),
            gain=("got {few} times more sharp keepers", "stopped missing moments waiting for autofocus"),
            take=("If your photos aren't good enough, you are probably not close enough.",),
            myth="street photography needs a long lens to stay unnoticed",
            ask=("How close do you get to strangers?", "Have you tried zone focusing?"),
        ),
        Lever(
            topic="gear settings shutter aperture",
            names=("shutter speed", "auto ISO", "camera settings"),
            facts=("A shutter speed of [1/250 s|1/250 of a second] or faster freezes most people walking.",
                   "Auto ISO with a minimum shutter speed [lets you shoot without checking settings|keeps you "
                   "shooting instead of adjusting]."),
            why=("Blur from a slow shutter ruins more street photos than noise from a high ISO, [which is why "
                 "the shutter comes first|so set speed and let ISO float].",),
            do=("set a minimum shutter speed of 1/250 s with auto ISO", "accept grain before blur"),
            did=("switched to auto ISO with a 1/250 s floor", "stopped worrying about ISO noise"),
            gain=("cut blurred frames by {pct}%", "kept {few} more sharp frames per walk"),
            take=("Grain is a look. Blur is a mistake.",),
            myth="low ISO always matters most",
            ask=("What shutter speed do you use on the street?", "Do you shoot with auto ISO?"),
        ),
        Lever(
            topic="editing workflow",
            names=("editing", "culling", "picking keepers"),
            facts=("Even well-known street photographers keep [a handful of frames|only a few photos] from "
                   "thousands of shots a year.",
                   "Waiting [a week|a few days] before culling makes it easier to judge a photo without the memory "
                   "of the moment."),
            why=("The memory of taking a photo makes it feel better than it is, [so distance gives honest "
                 "judgement|which is why fresh eyes cull better].",),
            do=("wait a week before picking keepers", "limit edits to three adjustments per photo"),
            did=("started waiting a week before culling", "cut each edit to three adjustments"),
            gain=("spent {hours} fewer hours editing each week", "posted {pct}% fewer but better photos"),
            take=("Editing is mostly deleting.",),
            myth="a good edit can save a weak photo",
            ask=("How many photos do you keep from a walk?", "How long do you wait before editing?"),
        ),
        Lever(
            topic="light shadows contrast",
            names=("hard shadows", "high contrast", "the shadow side of the street"),
            facts=("On a sunny day the difference between light and shade can be [several stops|four or five "
                   "stops], more than a sensor holds in one frame.",
                   "Exposing for the highlights and letting shadows go black is a classic street look."),
            why=("Deep shadows hide clutter, [so the subject in the light stands alone|which is why contrast can "
                 "simplify a busy street].",),
            do=("expose for the bright side and let the shadows fall to black", "look for a pool of light and "
                "wait for someone to step in"),
            did=("started exposing for the highlights", "waited at pools of light for people to walk through"),
            gain=("made {few} frames worth printing in a month", "kept {pct}% more frames from sunny walks"),
            take=("Bad light is a myth. Hard light is a style.",),
            myth="harsh midday light ruins street photos",
            ask=("Do you expose for the highlights or the shadows?", "Do you shoot in harsh sun?"),
        ),
        Lever(
            topic="habit practice shooting every day",
            names=("shooting every day", "a daily photo walk", "the camera in your bag"),
            facts=("Many well-known street photographers [shot almost daily|walked with a camera nearly every "
                   "day] for years.",
                   "A short daily walk adds up to [hundreds of hours|more than 100 hours] a year behind the "
                   "camera."),
            why=("Seeing improves with repetition, [so small daily walks beat rare long trips|which is why "
                 "habit matters more than location].",),
            do=("take the camera on every walk for a month", "shoot one street near home every day for a week"),
            did=("carried the camera on every walk for a month", "shot the same street every day for a week"),
            gain=("noticed {few} times more moments", "kept {pct}% more frames by the end of the month"),
            take=("You don't need a trip to make photos. You need a habit.",),
            myth="good street photos need interesting places",
            ask=("How often do you go out to shoot?", "Do you carry a camera every day?"),
        ),
        Lever(
            topic="film photography rolls",
            names=("shooting film", "a roll of 36", "film cameras"),
            facts=("A roll of 36 frames [costs a few euros to develop|has a price per frame], which makes every "
                   "press count.",
                   "Film handles highlights [more gently|more softly] than most digital sensors."),
            why=("A limited roll slows you down, [so you look longer before you press|which is why film often "
                 "improves framing].",),
            do=("shoot one roll of film a month as an exercise", "limit yourself to 36 frames on a digital walk"),
            did=("shot one roll of film a month", "limited digital walks to 36 frames"),
            gain=("kept {few} strong frames per roll", "spent {hours} fewer hours culling"),
            take=("Thirty-six frames teach more than three thousand.",),
            myth="film is only for nostalgia",
            ask=("Have you ever shot a roll of film?", "How many frames do you take on a walk?"),
        ),
    ),
)
