"""The bot's words in Ukrainian, English and Russian.

A chat speaks the language chosen with /settings; otherwise the user's Telegram language
when it is uk, ru or en; otherwise English. `text(key, lang, **values)` formats one message.
"""

from __future__ import annotations

LANGUAGES = ("uk", "en", "ru")
DEFAULT = "en"

CATALOG: dict[str, dict[str, str]] = {
    "help": {
        "en": (
            "<b>chanwatch</b> watches public Telegram channels, keeps every post, edit and "
            "deletion, and alerts you the moment a post matches what you follow.\n\n"
            "/subscribe QUERY — alert me when a post matches\n/list — this chat's subscriptions\n"
            "/unsubscribe ID — delete one\n/pause, /resume — all alerts of this chat\n"
            "/search QUERY — the archive, newest first\n/latest [channel] — the newest posts\n"
            "/channels — watched channels\n/settings — time zone and language\n\n"
            "Queries: words match in any form (<code>санкції</code> finds <code>санкцій</code>); "
            "<code>a b</code> both, <code>a OR b</code> either, <code>-word</code> or "
            '<code>NOT word</code> excludes, <code>"гарантії безпеки"</code> a phrase, '
            "<code>=неба</code> this exact form, <code>далекобійн*</code> a prefix, "
            "<code>Witkoff~</code> a name in any spelling, <code>channel:V_Zelenskiy_official</code> "
            "one channel, <code>/регекс\\d+/</code> a regular expression."
        ),
        "uk": (
            "<b>chanwatch</b> стежить за публічними каналами Telegram, зберігає кожен допис, "
            "редагування й видалення та сповіщає вас, щойно допис відповідає вашій підписці.\n\n"
            "/subscribe ЗАПИТ — сповіщати про відповідні дописи\n/list — підписки цього чату\n"
            "/unsubscribe ID — видалити підписку\n/pause, /resume — усі сповіщення чату\n"
            "/search ЗАПИТ — пошук в архіві, найновіші спершу\n/latest [канал] — найновіші дописи\n"
            "/channels — канали, за якими стежимо\n/settings — часовий пояс і мова\n\n"
            "Запити: слова знаходяться в будь-якій формі (<code>санкції</code> знайде "
            "<code>санкцій</code>); <code>а б</code> обидва, <code>а OR б</code> будь-яке, "
            "<code>-слово</code> або <code>NOT слово</code> виключає, "
            '<code>"гарантії безпеки"</code> фраза, <code>=неба</code> саме ця форма, '
            "<code>далекобійн*</code> префікс, <code>Witkoff~</code> ім'я в будь-якому написанні, "
            "<code>channel:V_Zelenskiy_official</code> один канал, <code>/регекс\\d+/</code> "
            "регулярний вираз."
        ),
        "ru": (
            "<b>chanwatch</b> следит за публичными каналами Telegram, сохраняет каждый пост, "
            "правку и удаление и оповещает вас, как только пост подходит под подписку.\n\n"
            "/subscribe ЗАПРОС — оповещать о подходящих постах\n/list — подписки этого чата\n"
            "/unsubscribe ID — удалить подписку\n/pause, /resume — все оповещения чата\n"
            "/search ЗАПРОС — поиск по архиву, сначала новые\n/latest [канал] — самые новые посты\n"
            "/channels — отслеживаемые каналы\n/settings — часовой пояс и язык\n\n"
            "Запросы: слова находятся в любой форме (<code>санкции</code> найдёт "
            "<code>санкций</code>); <code>а б</code> оба, <code>а OR б</code> любое, "
            "<code>-слово</code> или <code>NOT слово</code> исключает, "
            '<code>"гарантии безопасности"</code> фраза, <code>=неба</code> именно эта форма, '
            "<code>дальнобойн*</code> префикс, <code>Witkoff~</code> имя в любом написании, "
            "<code>channel:V_Zelenskiy_official</code> один канал, <code>/регекс\\d+/</code> "
            "регулярное выражение."
        ),
    },
    "subscribe_usage": {
        "en": "Usage: /subscribe QUERY — for example /subscribe санкції -шахед",
        "uk": "Як: /subscribe ЗАПИТ — наприклад /subscribe санкції -шахед",
        "ru": "Как: /subscribe ЗАПРОС — например /subscribe санкции -шахед",
    },
    "query_too_long": {
        "en": "A query may have at most {limit} characters.",
        "uk": "Запит може мати щонайбільше {limit} символів.",
        "ru": "Запрос может содержать не более {limit} символов.",
    },
    "bad_query": {
        "en": "Cannot use this query: {error}",
        "uk": "Не можу використати цей запит: {error}",
        "ru": "Не могу использовать этот запрос: {error}",
    },
    "too_many": {
        "en": "This chat already has {limit} subscriptions.",
        "uk": "У цьому чаті вже {limit} підписок.",
        "ru": "В этом чате уже {limit} подписок.",
    },
    "too_many_regex": {
        "en": "A chat may have at most {limit} subscriptions with regular expressions (they cannot be indexed).",
        "uk": "Чат може мати щонайбільше {limit} підписок із регулярними виразами (їх не можна індексувати).",
        "ru": "В чате может быть не более {limit} подписок с регулярными выражениями (их нельзя индексировать).",
    },
    "subscribed": {
        "en": "Subscribed (#{id}): <code>{query}</code>",
        "uk": "Підписку створено (#{id}): <code>{query}</code>",
        "ru": "Подписка создана (#{id}): <code>{query}</code>",
    },
    "understood": {
        "en": "Understood as: {description}",
        "uk": "Зрозуміло як: {description}",
        "ru": "Понято как: {description}",
    },
    "backtest": {
        "en": "Archived posts it would have matched: {count}",
        "uk": "Дописів в архіві, що відповідали б: {count}",
        "ru": "Постов в архиве, которые подошли бы: {count}",
    },
    "no_subscriptions": {
        "en": "No subscriptions yet. Start with /subscribe QUERY.",
        "uk": "Підписок ще немає. Почніть з /subscribe ЗАПИТ.",
        "ru": "Подписок пока нет. Начните с /subscribe ЗАПРОС.",
    },
    "unsubscribe_usage": {
        "en": "Usage: /unsubscribe ID (the number shown by /list)",
        "uk": "Як: /unsubscribe ID (номер із /list)",
        "ru": "Как: /unsubscribe ID (номер из /list)",
    },
    "no_such_subscription": {
        "en": "This chat has no subscription #{id}.",
        "uk": "У цьому чаті немає підписки #{id}.",
        "ru": "В этом чате нет подписки #{id}.",
    },
    "deleted": {
        "en": "Subscription #{id} deleted.",
        "uk": "Підписку #{id} видалено.",
        "ru": "Подписка #{id} удалена.",
    },
    "paused": {
        "en": "Alerts paused for this chat.",
        "uk": "Сповіщення для цього чату призупинено.",
        "ru": "Оповещения для этого чата приостановлены.",
    },
    "resumed": {
        "en": "Alerts resumed.",
        "uk": "Сповіщення відновлено.",
        "ru": "Оповещения возобновлены.",
    },
    "not_group_admin": {
        "en": "In groups, only the group's administrators can change its subscriptions.",
        "uk": "У групах підписки змінюють лише адміністратори групи.",
        "ru": "В группах подписки меняют только администраторы группы.",
    },
    "not_bot_admin": {
        "en": "Sorry, only the bot's administrators can do that.",
        "uk": "Вибачте, це можуть лише адміністратори бота.",
        "ru": "Извините, это могут только администраторы бота.",
    },
    "search_usage": {
        "en": "Usage: /search QUERY",
        "uk": "Як: /search ЗАПИТ",
        "ru": "Как: /search ЗАПРОС",
    },
    "no_match": {
        "en": "No posts match.",
        "uk": "Дописів не знайдено.",
        "ru": "Постов не найдено.",
    },
    "search_stopped_empty": {
        "en": "No match in the {examined} posts searched before the time limit. Narrow the query "
        "with another word to search further back.",
        "uk": "Серед {examined} дописів, переглянутих до ліміту часу, збігів немає. Уточніть запит "
        "ще одним словом, щоб шукати далі в минуле.",
        "ru": "Среди {examined} постов, просмотренных до лимита времени, совпадений нет. Уточните "
        "запрос ещё одним словом, чтобы искать дальше в прошлое.",
    },
    "search_stopped": {
        "en": "The search stopped at its time limit: older posts were not searched. Narrow the "
        "query with another word to search further back.",
        "uk": "Пошук зупинився на ліміті часу: старіші дописи не переглянуто. Уточніть запит "
        "ще одним словом, щоб шукати далі в минуле.",
        "ru": "Поиск остановился на лимите времени: более старые посты не просмотрены. Уточните "
        "запрос ещё одним словом, чтобы искать дальше в прошлое.",
    },
    "private_bot": {
        "en": "Sorry, this bot is private. Ask its operator for access.",
        "uk": "Вибачте, це приватний бот. Попросіть доступ у його власника.",
        "ru": "Извините, это частный бот. Попросите доступ у его владельца.",
    },
    "settings": {
        "en": "Time zone: <b>{zone}</b>\nLanguage: <b>{language}</b>\nChoose below, or type /settings Area/City (an IANA time zone).",
        "uk": "Часовий пояс: <b>{zone}</b>\nМова: <b>{language}</b>\nОберіть нижче або напишіть /settings Область/Місто (часовий пояс IANA).",
        "ru": "Часовой пояс: <b>{zone}</b>\nЯзык: <b>{language}</b>\nВыберите ниже или напишите /settings Регион/Город (часовой пояс IANA).",
    },
    "unknown_zone": {
        "en": "Unknown time zone {zone}; use a name like Europe/Kyiv.",
        "uk": "Невідомий часовий пояс {zone}; вкажіть назву на зразок Europe/Kyiv.",
        "ru": "Неизвестный часовой пояс {zone}; укажите название вроде Europe/Kyiv.",
    },
    "saved": {"en": "Saved: {value}", "uk": "Збережено: {value}", "ru": "Сохранено: {value}"},
    # alert labels
    "edited": {"en": "Edited: ", "uk": "Змінено: ", "ru": "Изменено: "},
    "deleted_post": {"en": "Deleted: ", "uk": "Видалено: ", "ru": "Удалено: "},
    "forwarded_from": {
        "en": "Forwarded from {name}",
        "uk": "Переслано з {name}",
        "ru": "Переслано из {name}",
    },
    "late": {
        "en": "Arrived late (found by catch-up)",
        "uk": "Надійшло із запізненням (знайдено під час догону)",
        "ru": "Пришло с опозданием (найдено при догоне)",
    },
    "matched": {
        "en": "Matched: {queries}",
        "uk": "Збіглося: {queries}",
        "ru": "Совпало: {queries}",
    },
    "also_in": {"en": "Also in: {link}", "uk": "Також у: {link}", "ru": "Также в: {link}"},
}


def resolve_language(chat_language: str | None, user_language: str | None) -> str:
    """The chat's chosen language, else the user's (uk, ru, en), else English."""
    if chat_language in LANGUAGES:
        return chat_language
    code = (user_language or "").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT


def text(key: str, lang: str = DEFAULT, **values: object) -> str:
    """One message in a language (English when a translation is missing)."""
    forms = CATALOG[key]
    template = forms.get(lang) or forms[DEFAULT]
    return template.format(**values) if values else template
