"""Values and upgrade stories written for the demo study (`elicitation.demo`), so that a
participant can pick wise values and judge upgrades offline. Keys are stable: the seed
upserts on them (`source_id = "demo:<key>"`)."""

from __future__ import annotations

from typing import Any

DEMO_RUN_ID = "demo-v1"

DEMO_VALUES: list[dict[str, Any]] = [
    {
        "key": "safety-first",
        "title": "Keeping loved ones safe",
        "description": "Acting to prevent harm to someone I love, even when they resist.",
        "policies": [
            "RISKS that are growing, like falls that are becoming more frequent",
            "WARNING SIGNS the person themselves may not see or admit",
            "STEPS that would prevent the worst outcome if nothing else changes",
        ],
    },
    {
        "key": "dignity-in-choosing",
        "title": "Dignity in choosing one's own risks",
        "description": (
            "Helping someone stay the author of their own life, including the risks they "
            "accept, while making sure they choose with open eyes."
        ),
        "policies": [
            "FEARS behind a refusal, such as losing independence or being a burden",
            "CHOICES the person can still make for themselves, however small",
            "CONVERSATIONS where their own sense of risk can be heard and tested",
            "ARRANGEMENTS that add safety without taking control away",
        ],
    },
    {
        "key": "loyalty",
        "title": "Standing by my friends",
        "description": "Being someone my friends can count on when they ask for help.",
        "policies": [
            "MOMENTS when a friend turns to me because they have no one else",
            "PROMISES I have made, spoken or unspoken",
            "COSTS to the friendship if I refuse",
        ],
    },
    {
        "key": "honest-friendship",
        "title": "Friendship that can hold the truth",
        "description": (
            "Caring for a friend in a way that includes telling them hard things, so the "
            "friendship rests on trust rather than on covering for each other."
        ),
        "policies": [
            "WORRIES my friend has not said out loud, behind the request",
            "WAYS to refuse the lie while staying clearly on their side",
            "PEOPLE outside the friendship who would be hurt by the deception",
            "CHANCES for my friend to face the situation with my support",
        ],
    },
    {
        "key": "providing",
        "title": "Providing for my family",
        "description": "Making sure the people who depend on me have what they need.",
        "policies": [
            "NEEDS of my family that cannot wait, like rent, food and school",
            "OPPORTUNITIES that would make us more secure for years",
            "RISKS of turning down a chance that may not come again",
        ],
    },
    {
        "key": "work-with-integrity",
        "title": "Work I can stand behind",
        "description": (
            "Choosing work whose effects on others I could explain to my children without "
            "looking away."
        ),
        "policies": [
            "HARMS the product does to people who never chose it",
            "PARTS of the job where I could push the company toward less harm",
            "COMPROMISES I would be making quietly, and how they would add up over years",
        ],
    },
    {
        "key": "whole-picture",
        "title": "Weighing the whole life picture",
        "description": (
            "Seeing a hard choice in the light of everything it touches: the people who depend "
            "on me, the person I want to be, and what can and cannot be undone."
        ),
        "policies": [
            "CONSEQUENCES that last, as against those that pass",
            "PEOPLE whose lives the decision quietly shapes",
            "VALUES I would be living out every working day",
            "WAYS back if the choice turns out wrong",
        ],
    },
    {
        "key": "including-the-absent",
        "title": "Including the person being discussed",
        "description": (
            "Remembering that the person a decision is about should take part in it, and "
            "bringing them in rather than deciding behind their back."
        ),
        "policies": [
            "MOMENTS when I am about to decide for someone who is not in the room",
            "WAYS to bring them into the conversation on their own terms",
            "THINGS they know about their own life that no one else does",
        ],
    },
]

DEMO_HYPOTHESES: list[dict[str, str]] = [
    {
        "from": "safety-first",
        "to": "dignity-in-choosing",
        "context": "When someone's independence is at stake",
        "story": (
            "When my mother fell, I wanted to install cameras and hire someone without asking "
            "her. She went silent and stopped telling me anything. When I finally asked what "
            "scared her, it was not falling: it was becoming a guest in her own house. We chose "
            "a helper together, and now she tells me when she feels unsteady."
        ),
    },
    {
        "from": "safety-first",
        "to": "including-the-absent",
        "context": "When the person affected is not part of the conversation",
        "story": (
            "My sister and I spent weeks planning our father's care over the phone. Every plan "
            "fell apart because he refused it. The first time we sat down with him and asked "
            "what he wanted, he named two things he would accept. I learned that a plan made "
            "about someone is rarely a plan they will live with."
        ),
    },
    {
        "from": "dignity-in-choosing",
        "to": "safety-first",
        "context": "When a person is afraid for someone they love",
        "story": (
            "I always said my grandfather could make his own choices. Then I saw how confused "
            "he had become about his medicines. Respecting him stopped meaning leaving him "
            "alone with it. I started checking his pills with him every Sunday."
        ),
    },
    {
        "from": "loyalty",
        "to": "honest-friendship",
        "context": "When trust between people could break",
        "story": (
            "I covered for a friend once and it felt like loyalty. Months later she told me "
            "she had hoped I would say no, because she needed someone to stop her. Now when a "
            "friend asks me to lie, I ask what is really going on. Being on her side turned out "
            "to mean more than doing what she asked."
        ),
    },
    {
        "from": "loyalty",
        "to": "honest-friendship",
        "context": "When someone is asked to keep a secret",
        "story": (
            "A friend asked me to keep something from her partner, and I agreed without "
            "thinking. Carrying it changed how I looked at both of them. The next time, I told "
            "her I would keep her confidence but would not lie for her. She was angry for a "
            "week and then thanked me."
        ),
    },
    {
        "from": "providing",
        "to": "whole-picture",
        "context": "When money pressures a choice",
        "story": (
            "I took a better-paid job because my kids needed things. We had more money, but I "
            "came home hollow and short-tempered. Providing for them, I realised, also meant "
            "being a father they wanted to be around. I now count that in before I count the "
            "salary."
        ),
    },
    {
        "from": "work-with-integrity",
        "to": "whole-picture",
        "context": "When a decision cannot easily be undone",
        "story": (
            "I turned down an offer on principle and felt proud of it. A year later my family "
            "was still struggling and my principle had changed nothing at that company. I "
            "began weighing what I could really change and who would carry the cost of my "
            "purity. Some choices I now make more slowly, with everyone affected in view."
        ),
    },
    {
        "from": "providing",
        "to": "work-with-integrity",
        "context": "When a decision cannot easily be undone",
        "story": (
            "I used to think any job that paid the bills was a good job. Then I spent three "
            "years selling something I knew hurt people, and it stayed with me after I left. "
            "My children remember that I was never at ease in those years. Now I ask what a job "
            "will make of me before I ask what it pays."
        ),
    },
]
