"""What the offline interviewer says, in each language it speaks, and how it tells which one
the participant writes in.

The interviewer answers in the participant's language: the language of what they wrote when
that is clear, else the page's language (`django.utils.translation.get_language()`), else
English. Its questions are written here for each language rather than through the message
catalogue, because the language is chosen per interview from the participant's own text,
not only from the interface's setting. Pure: text in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LANGUAGES = ("en", "es", "ar")
DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "opening": (
            "Think of a time when you, or someone close to you, faced a situation like this "
            "one. It can also be one you imagine. What happened, and what did you do?"
        ),
        "ask_attention": (
            "Staying with that moment: what did you pay attention to when you were working out "
            "what to do? What did you notice, or look out for?"
        ),
        "ask_meaning": "What made that meaningful to you? Why did it matter to pay attention to it?",
        "ask_limits": (
            "Where does this stop applying? Think of a situation where you would pay attention "
            "to something else instead."
        ),
        "reflect": "You said: “{quote}”",
        "unsure": "You are not sure, and that is all right.",
        "nudge_situation": (
            "That is all right. It can be a situation you imagine, or one you heard about: "
            "someone facing a question like this. What is happening, and what do they do?"
        ),
        "nudge": "Take your time; a few words of your own are enough.",
        "instructions": (
            "I only help you put what you care about into words, so I leave instructions like "
            "that out of your card."
        ),
        "drafted": (
            "I have put {count} of your own sentences on a draft card below, as lines you can "
            "rewrite, add to or remove. The card has no title yet: give it one in your own "
            "words (three to six words), save it, and confirm it if it fits."
        ),
        "drafted_one": (
            "I have put one of your own sentences on a draft card below. A card needs at least "
            "three lines, so add more in your own words, give it a title of three to six "
            "words, save it, and confirm it if it fits."
        ),
        "drafted_none": (
            "I could not take a line for your card from your answers, so the draft card below "
            "is empty. Write what you pay attention to as lines in your own words, give it a "
            "title of three to six words, save it, and confirm it if it fits."
        ),
        "drafted_few": (
            "I have put {count} of your own sentences on a draft card below. A card needs at "
            "least three lines, so add more in your own words, give it a title of three to "
            "six words, save it, and confirm it if it fits."
        ),
        "last_turn": "This is the last message this interview allows.",
        "draft_waiting": (
            "Your draft card is in the editor below. Give it a title of three to six words, "
            "change any line you like, and save it; then you can confirm it."
        ),
        "confirm_hint": (
            "If the card says what matters to you, press “Confirm this card” on the card; only "
            "you can submit it. To change it, press “Edit this card”."
        ),
        "not_changed": (
            "I have not changed the card. If that belongs on it, press “Edit this card” and "
            "add it as a line in your own words."
        ),
    },
    "es": {
        "opening": (
            "Piensa en una ocasión en la que tú, o alguien cercano, se enfrentó a una situación "
            "como esta. También puede ser una que imagines. ¿Qué pasó y qué hiciste?"
        ),
        "ask_attention": (
            "Volviendo a ese momento: ¿a qué prestaste atención mientras decidías qué hacer? "
            "¿Qué notaste o qué vigilabas?"
        ),
        "ask_meaning": (
            "¿Qué hizo que eso fuera importante para ti? ¿Por qué importaba prestarle atención?"
        ),
        "ask_limits": (
            "¿Dónde deja de aplicarse esto? Piensa en una situación en la que prestarías "
            "atención a otra cosa."
        ),
        "reflect": "Dijiste: «{quote}»",
        "unsure": "No estás seguro o segura, y no pasa nada.",
        "nudge_situation": (
            "No pasa nada. Puede ser una situación que imagines o de la que hayas oído hablar: "
            "alguien ante una pregunta como esta. ¿Qué está pasando y qué hace esa persona?"
        ),
        "nudge": "Tómate tu tiempo; bastan unas pocas palabras tuyas.",
        "instructions": (
            "Solo te ayudo a poner en palabras lo que te importa, así que dejo instrucciones "
            "como esa fuera de tu tarjeta."
        ),
        "drafted": (
            "He puesto {count} de tus propias frases en un borrador de tarjeta aquí abajo, como "
            "líneas que puedes reescribir, ampliar o quitar. La tarjeta aún no tiene título: "
            "ponle uno con tus palabras (de tres a seis palabras), guárdala y confírmala si te "
            "representa."
        ),
        "drafted_one": (
            "He puesto una de tus propias frases en un borrador de tarjeta aquí abajo. Una "
            "tarjeta necesita al menos tres líneas: añade más con tus palabras, ponle un título "
            "de tres a seis palabras, guárdala y confírmala si te representa."
        ),
        "drafted_none": (
            "No pude tomar ninguna línea de tus respuestas, así que el borrador de tarjeta está "
            "vacío. Escribe en líneas, con tus palabras, aquello a lo que prestas atención, "
            "ponle un título de tres a seis palabras, guárdala y confírmala si te representa."
        ),
        "drafted_few": (
            "He puesto {count} de tus propias frases en un borrador de tarjeta aquí abajo. Una "
            "tarjeta necesita al menos tres líneas: añade más con tus palabras, ponle un título "
            "de tres a seis palabras, guárdala y confírmala si te representa."
        ),
        "last_turn": "Este es el último mensaje que permite esta entrevista.",
        "draft_waiting": (
            "Tu borrador de tarjeta está en el editor de abajo. Ponle un título de tres a seis "
            "palabras, cambia las líneas que quieras y guárdala; después podrás confirmarla."
        ),
        "confirm_hint": (
            "Si la tarjeta dice lo que te importa, pulsa el botón de confirmar de la tarjeta; "
            "solo tú puedes enviarla. Para cambiarla, pulsa el botón de editar."
        ),
        "not_changed": (
            "No he cambiado la tarjeta. Si eso debe estar en ella, pulsa el botón de editar y "
            "añádelo como una línea con tus palabras."
        ),
    },
    "ar": {
        "opening": (
            "فكّر في موقف واجهته أنت أو شخص قريب منك يشبه هذا الموقف، ويمكن أن يكون موقفًا "
            "تتخيله. ماذا حدث، وماذا فعلت؟"
        ),
        "ask_attention": (
            "لنبقَ عند تلك اللحظة: إلى أي شيء انتبهت وأنت تقرر ما تفعله؟ ماذا لاحظت، أو ما الذي "
            "كنت تراقبه؟"
        ),
        "ask_meaning": "ما الذي جعل ذلك مهمًا بالنسبة إليك؟ ولماذا كان الانتباه إليه مهمًا؟",
        "ask_limits": (
            "متى يتوقف هذا عن الانطباق؟ فكّر في موقف كنت ستنتبه فيه إلى شيء آخر بدلًا من ذلك."
        ),
        "reflect": "قلت: «{quote}»",
        "unsure": "لست متأكدًا، ولا بأس في ذلك.",
        "nudge_situation": (
            "لا بأس. يمكن أن يكون موقفًا تتخيله أو سمعت عنه: شخص يواجه سؤالًا كهذا. ماذا يحدث، "
            "وماذا يفعل؟"
        ),
        "nudge": "خذ وقتك؛ تكفي كلمات قليلة بلغتك.",
        "instructions": (
            "أنا أساعدك فقط على التعبير عمّا يهمك، لذلك لا أضع تعليمات كهذه في بطاقتك."
        ),
        "drafted": (
            "وضعت {count} من جملك أنت في مسودة بطاقة بالأسفل، كسطور يمكنك إعادة كتابتها أو "
            "الإضافة إليها أو حذفها. ليس للبطاقة عنوان بعد: اكتب لها عنوانًا بكلماتك (من ثلاث "
            "إلى ست كلمات)، ثم احفظها وأكّدها إن كانت تعبّر عنك."
        ),
        "drafted_one": (
            "وضعت جملة واحدة من جملك في مسودة بطاقة بالأسفل. تحتاج البطاقة إلى ثلاثة سطور على "
            "الأقل، فأضف المزيد بكلماتك، واكتب عنوانًا من ثلاث إلى ست كلمات، ثم احفظها وأكّدها "
            "إن كانت تعبّر عنك."
        ),
        "drafted_none": (
            "لم أستطع أن آخذ سطرًا لبطاقتك من إجاباتك، لذلك مسودة البطاقة بالأسفل فارغة. اكتب "
            "بكلماتك ما تنتبه إليه في سطور، واكتب عنوانًا من ثلاث إلى ست كلمات، ثم احفظها "
            "وأكّدها إن كانت تعبّر عنك."
        ),
        "drafted_few": (
            "وضعت {count} من جملك أنت في مسودة بطاقة بالأسفل. تحتاج البطاقة إلى ثلاثة سطور على "
            "الأقل، فأضف المزيد بكلماتك، واكتب عنوانًا من ثلاث إلى ست كلمات، ثم احفظها وأكّدها "
            "إن كانت تعبّر عنك."
        ),
        "last_turn": "هذه آخر رسالة تسمح بها هذه المقابلة.",
        "draft_waiting": (
            "مسودة بطاقتك في المحرر بالأسفل. اكتب لها عنوانًا من ثلاث إلى ست كلمات، وغيّر ما "
            "تشاء من السطور، ثم احفظها؛ بعد ذلك يمكنك تأكيدها."
        ),
        "confirm_hint": (
            "إن كانت البطاقة تقول ما يهمك، فاضغط زر التأكيد على البطاقة؛ أنت وحدك من يرسلها. "
            "ولتغييرها اضغط زر التعديل."
        ),
        "not_changed": (
            "لم أغيّر البطاقة. إن كان ذلك مكانه فيها، فاضغط زر التعديل وأضفه سطرًا بكلماتك."
        ),
    },
}

_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_WORD = re.compile(r"[a-zA-ZÀ-ÿ]+")
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]", re.IGNORECASE)
_SPANISH_WORDS_TEXT = (
    "que de la el los las y en un una es por con para no lo se me mi mis su sus ella él pero "
    "muy cuando porque qué cómo yo ya le les al del fue era estaba tenía sé sabe hija hijo "
    "madre padre amiga amigo decisión siempre también nada eso esta este esto hay hacer "
    "ser si sí mujer mujeres vida"
)
_SPANISH_WORDS = frozenset(_SPANISH_WORDS_TEXT.split())
_ENGLISH_WORDS_TEXT = (
    "the and to of i my was that it is with for when she he her his they but not you what "
    "this had have be at on do did would so we me about just because idk "
    "know think there were been"
)
_ENGLISH_WORDS = frozenset(_ENGLISH_WORDS_TEXT.split())


def detect_language(texts: Sequence[str], fallback: str | None = None) -> str:
    """The language the participant writes in ("en", "es" or "ar"): Arabic script, or more
    Spanish than English marks and common words; otherwise the fallback (the page's
    language) when it is one we speak, else English."""
    text = " ".join(texts)
    arabic = len(_ARABIC.findall(text))
    words = [w.lower() for w in _LATIN_WORD.findall(text)]
    if arabic and arabic >= sum(len(w) for w in words):
        return "ar"
    spanish = sum(w in _SPANISH_WORDS for w in words) + 2 * len(_SPANISH_MARKS.findall(text))
    english = sum(w in _ENGLISH_WORDS for w in words)
    if spanish >= 2 and spanish > english:
        return "es"
    if english >= 2 and english > spanish:
        return "en"
    base = (fallback or "").split("-")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE


def say(language: str, key: str, **values: object) -> str:
    """The interviewer's words for `key` in `language` (English when it has none)."""
    texts = TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])
    return texts[key].format(**values) if values else texts[key]
