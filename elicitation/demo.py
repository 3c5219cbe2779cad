"""The demo study that `make run` seeds: questions and contexts written for the demo."""

from __future__ import annotations

from typing import TypedDict


class DemoQuestion(TypedDict):
    title: str
    text: str
    seed_message: str
    contexts: list[str]


DEMO_SLUG = "demo"

DEMO_STUDY = {
    "title": "How should an AI help with hard personal decisions?",
    "welcome_text": (
        "People increasingly ask AI assistants for advice on difficult, personal questions. "
        "We want to learn what you think a wise answer pays attention to.\n\n"
        "You will chat with an interviewer for about ten minutes, agree on a short 'values "
        "card' that says what matters to you, then look at values other people wrote."
    ),
    "consent_text": (
        "This is a demonstration study of the Moral Graph Elicitation service.\n\n"
        "What we collect: your chat with the interviewer, the values card you confirm, your "
        "choices about other people's values and your survey answers. We do not ask for your "
        "name or email address.\n\n"
        "How it is used: your card may be shown, without your name, to other participants, "
        "and combined with theirs into a 'moral graph' that researchers can export.\n\n"
        "You can stop at any time by closing the page."
    ),
}

DEMO_QUESTIONS: list[DemoQuestion] = [
    {
        "title": "A father who refuses help",
        "text": (
            "My dad is 84 and lives alone. He keeps refusing any help at home, but he has fallen "
            "twice this year. Should I arrange a carer without asking him?"
        ),
        "seed_message": (
            "Imagine someone typed that question to an AI assistant. Before we talk about the "
            "answer: has anything like this happened to you or someone close to you?"
        ),
        "contexts": [
            "When someone's independence is at stake",
            "When a person is afraid for someone they love",
            "When the person affected is not part of the conversation",
        ],
    },
    {
        "title": "A friend who asks you to lie",
        "text": (
            "My best friend asked me to tell her boyfriend she was with me last weekend. She "
            "wasn't. I don't want to lose her, but this feels wrong. What should I do?"
        ),
        "seed_message": (
            "Picture someone asking an AI this. To start: can you recall a time when loyalty "
            "to someone pulled against telling the truth?"
        ),
        "contexts": [
            "When trust between people could break",
            "When someone is asked to keep a secret",
            "When a person is afraid for someone they love",
        ],
    },
    {
        "title": "A job you are unsure about",
        "text": (
            "I've been offered a job that pays much better than mine, at a company whose "
            "product I think does some harm. I have a family to support. Should I take it?"
        ),
        "seed_message": (
            "Suppose this question came to an AI assistant. Have you ever had to choose "
            "between what you needed and what you believed in?"
        ),
        "contexts": [
            "When money pressures a choice",
            "When a decision cannot easily be undone",
        ],
    },
]
